//! Asterisk `.conf` files: read them with every rule of Asterisk's own
//! reader (`main/config.c`), and edit them without disturbing a byte that
//! was not edited.
//!
//! - [`Config`] is a configuration read and resolved: categories in order,
//!   templates apart, inheritance applied, repeated keys kept, and the file
//!   and line of every value. [`Config::from_path`] reads from disk;
//!   [`Config::parse_str`] from a string; a [`Loader`] with an
//!   [`IncludeResolver`] (such as [`MemoryResolver`]) does either with
//!   options.
//! - [`Document`] is one file as text, for editing: set, append or delete a
//!   variable, add, delete or rename a category. Untouched lines stay byte
//!   for byte, comments and order included.
//!
//! The syntax, as Asterisk reads it:
//!
//! - `[name]` starts a category; `[name](!)` a template; `[name](a,b)`
//!   inherits the variables of `a` then `b` (copied when the header is
//!   read) before its own; `[name](+)` adds to the first earlier category
//!   of that name. Options combine: `[name](!,a)`.
//! - `name = value` and `name => value` (an "object", as `exten =>`); names
//!   and values are stripped; repeated names are all kept, in order.
//!   `name += more` appends to the last `name` of the category.
//! - `;` starts a comment, `\;` is a literal `;`, `;--` … `--;` is a block
//!   comment (it nests and may span lines; `;---` is an ordinary comment).
//! - `#include file`, `#include "file"` or `#include <file>`; `#tryinclude`
//!   does not mind a missing file; both take glob patterns (`*`, `?`,
//!   `[…]`, `{a,b}`), relative to the including file's directory. `#exec
//!   command` is recorded but run only when [`Loader::allow_exec`] says so.
//! - `${…}` is text, a UTF-8 byte order mark is skipped, CRLF is read as
//!   LF, there is no line continuation.
//! - A file is bytes, as Asterisk reads it: any file reads. A name or value
//!   that is valid UTF-8 is that text; one that is not (Latin-1 in
//!   Asterisk's own `minivm.conf.sample`) is read as Latin-1, each byte
//!   one character, so that no byte is lost: [`Variable::is_latin1`] says
//!   which, [`Variable::value_bytes`] gives the bytes back, and a
//!   [`Document`] keeps and writes the file's own bytes.
//!
//! The reader is sans-IO: it sees bytes and asks its resolver for files.
//! Errors ([`ConfigError`]) carry the file and the line; what Asterisk
//! would only log is kept in [`Config::warnings`].

mod document;
mod error;
mod glob;
mod load;
mod model;
mod resolver;
mod scan;

pub use document::Document;
pub use error::{ConfigError, EditError, ErrorKind, Location, Warning, WarningKind};
pub use load::{Loader, DEFAULT_MAX_INCLUDE_DEPTH};
pub use model::{Category, Config, Directive, DirectiveKind, Variable};
pub use resolver::{DirEntry, FsResolver, IncludeResolver, MemoryResolver, NoIncludes};
