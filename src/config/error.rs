//! [`ConfigError`], [`Warning`] and [`EditError`]: what can go wrong reading
//! and editing a `.conf` file.

use std::fmt;
use std::path::{Path, PathBuf};

/// A file and a line in it: where a value, a category or an error comes from.
///
/// Lines count from 1; line 0 stands for the file as a whole (a file that
/// could not be read at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location<'a> {
    /// The file, as it was named (joined to the including file's directory
    /// for an `#include`).
    pub file: &'a Path,
    /// The line, from 1.
    pub line: u32,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Why a configuration could not be read. Always carried by a
/// [`ConfigError`], which adds the file and the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read file: {reason}")]
    Read {
        /// What the operating system (or the resolver) said.
        reason: String,
    },
    /// The file is not UTF-8; the line holds the first bad byte. No longer
    /// produced: files are read as bytes, values that are not UTF-8 as
    /// Latin-1 (see [`crate::config`]).
    #[error("invalid UTF-8 at byte {column} of the line")]
    InvalidUtf8 {
        /// The 1-based byte offset of the bad byte in its line.
        column: usize,
    },
    /// A `;--` block comment is never closed by `--;`. The line is where
    /// the innermost open comment starts.
    #[error("unterminated block comment (`;--` without `--;`)")]
    UnterminatedComment,
    /// Block comments nested deeper than Asterisk allows (128).
    #[error("block comments nested more than {limit} deep")]
    CommentsTooDeep {
        /// The limit.
        limit: usize,
    },
    /// A category header without its closing `]`.
    #[error("category header without a closing `]`")]
    MissingBracket,
    /// A category header whose `(` has no closing `)`.
    #[error("category options without a closing `)`")]
    MissingParen,
    /// A variable line outside any category.
    #[error("line outside any category (no `[category]` before it)")]
    NoCategory,
    /// A line that starts with `\` followed by a space or nothing.
    #[error("invalid escape: `\\` at the start of a line must precede a visible character")]
    InvalidEscape,
    /// `[name](tpl)` names a template (or category) not defined before it.
    #[error("inheritance from unknown template or category {name:?}")]
    UnknownTemplate {
        /// The name inside the parentheses.
        name: String,
    },
    /// `[name](+)` adds to a category that is not defined before it.
    #[error("`(+)` adds to unknown category {name:?}")]
    UnknownCategory {
        /// The category's name.
        name: String,
    },
    /// `#include` found no file.
    #[error("#include {pattern:?}: no such file ({reason})")]
    IncludeNotFound {
        /// The directive's argument.
        pattern: String,
        /// Why (the last reason a candidate could not be read).
        reason: String,
    },
    /// A file includes itself, directly or through others.
    #[error("include loop: {path} is already being read")]
    IncludeLoop {
        /// The file included a second time.
        path: String,
    },
    /// Includes nested deeper than the limit (Asterisk's is 10).
    #[error("includes nested more than {limit} deep")]
    IncludeTooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// `#exec` was allowed but the command could not be run.
    #[error("#exec {command:?} failed: {reason}")]
    Exec {
        /// The command.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// The configuration grows beyond what its input justifies (inheritance
    /// and `+=` can multiply the input); the limit keeps memory proportional
    /// to the input.
    #[error("configuration too large: more than {limit} {what}")]
    TooLarge {
        /// What overflowed: "bytes of values" or "variables".
        what: &'static str,
        /// The limit in force.
        limit: usize,
    },
}

/// An error reading a configuration: what went wrong, in which file, on
/// which line. Displays as `file:line: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {kind}", .file.display(), .line)]
#[non_exhaustive]
pub struct ConfigError {
    /// The file where it happened.
    pub file: PathBuf,
    /// The line (from 1; 0 when the file as a whole is at fault).
    pub line: u32,
    /// What happened.
    pub kind: ErrorKind,
}

impl ConfigError {
    pub(crate) fn new(file: &Path, line: u32, kind: ErrorKind) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line,
            kind,
        }
    }

    /// Where it happened.
    pub fn location(&self) -> Location<'_> {
        Location {
            file: &self.file,
            line: self.line,
        }
    }
}

/// What Asterisk logs and then ignores. Kept in [`Warning`]s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    /// A line in a category with no `=`; ignored.
    #[error("no `=` on the line; ignored")]
    NoEquals,
    /// `= value` with nothing before the `=`; ignored.
    #[error("no variable name before `=`; ignored")]
    EmptyName,
    /// A line longer than the limit (Asterisk's is 8190 bytes); skipped.
    #[error("line longer than {limit} bytes; skipped")]
    LineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// `#something` that is not `#include`, `#tryinclude` or `#exec`.
    #[error("unknown directive #{name}; ignored")]
    UnknownDirective {
        /// The directive's name.
        name: String,
    },
    /// `#include`, `#tryinclude` or `#exec` without an argument; ignored.
    #[error("#{name} needs an argument; ignored")]
    MissingArgument {
        /// The directive's name.
        name: String,
    },
    /// `#exec` seen while running commands is not allowed; ignored, as
    /// Asterisk does without `execincludes = yes`.
    #[error("#exec {command:?} not run (exec is not enabled)")]
    ExecDisabled {
        /// The command.
        command: String,
    },
    /// A file matched by an include could not be read (a directory, say);
    /// skipped.
    #[error("{path}: skipped ({reason})")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// `#tryinclude` found no file; nothing happens.
    #[error("#tryinclude {pattern:?}: no such file")]
    TryIncludeMissing {
        /// The directive's argument.
        pattern: String,
    },
    /// An empty name in a header's parentheses, as in `[a](x,)`; ignored.
    #[error("empty name in category options; ignored")]
    EmptyTemplateName,
    /// `[name](+filter)`: the filter is not supported; treated as `(+)`.
    #[error("category filter {filter:?} after `+` not supported; treated as `(+)`")]
    FilterIgnored {
        /// The filter text.
        filter: String,
    },
    /// `--;` outside any block comment: read as an ordinary `;` comment.
    #[error("`--;` outside a block comment; read as a `;` comment")]
    StrayCommentEnd,
}

/// Something Asterisk would log and carry on past. Reading goes on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {kind}", .file.display(), .line)]
#[non_exhaustive]
pub struct Warning {
    /// The file.
    pub file: PathBuf,
    /// The line, from 1.
    pub line: u32,
    /// What was ignored.
    pub kind: WarningKind,
}

/// Why an edit of a [`crate::config::Document`] was refused. The document is
/// unchanged after an error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// No category (or template) with that name in this file.
    #[error("no category {0:?} in this file")]
    NoSuchCategory(String),
    /// A category with that name is already in this file.
    #[error("a category {0:?} is already in this file")]
    CategoryExists(String),
    /// The category has no variable with that name.
    #[error("no variable {key:?} in category {category:?}")]
    NoSuchVariable {
        /// The category.
        category: String,
        /// The variable's name.
        key: String,
    },
    /// A category name that cannot be written: empty, or with `]`, `;`,
    /// a line break, or leading/trailing whitespace.
    #[error("invalid category name {0:?}")]
    InvalidCategoryName(String),
    /// A variable name that cannot be written: empty, with `=`, `;`, a line
    /// break, leading/trailing whitespace, a trailing `+`, or a leading
    /// `[`, `#` or `\`.
    #[error("invalid variable name {0:?}")]
    InvalidName(String),
    /// A value that cannot be written: a line break, or leading/trailing
    /// whitespace (Asterisk strips it).
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    /// The edit would produce text that does not read back (a bug guard).
    #[error("the edited file would not parse: {0}")]
    Reparse(Box<ConfigError>),
}
