//! [`Config`], the resolved configuration, and its views [`Category`],
//! [`Variable`] and [`Directive`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::{ConfigError, Location, Warning};
use super::load::Loader;
use super::resolver::{FsResolver, IncludeResolver, NoIncludes};

/// A span of [`Config`]'s text arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

pub(crate) const OBJECT: u8 = 1;
pub(crate) const INHERITED: u8 = 2;
/// The value was not UTF-8 in the file and was read as Latin-1.
pub(crate) const LATIN1: u8 = 4;
pub(crate) const NO_CAT: u32 = u32::MAX;

/// One variable record (32 bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Var {
    pub name: Span,
    pub value: Span,
    pub file: u32,
    pub line: u32,
    /// The template it was copied from, or `NO_CAT`.
    pub from: u32,
    pub flags: u8,
}

#[derive(Clone, Debug)]
pub(crate) struct Cat {
    pub name: String,
    pub template: bool,
    pub file: u32,
    pub line: u32,
    pub parents: Vec<u32>,
    pub vars: Vec<Var>,
}

#[derive(Clone, Debug)]
pub(crate) struct DirectiveRec {
    pub kind: DirectiveKind,
    pub argument: String,
    pub file: u32,
    pub line: u32,
    pub files: Vec<u32>,
}

/// A configuration read from a `.conf` file and everything it includes,
/// with inheritance resolved the way Asterisk resolves it.
///
/// Categories keep their file order; templates (`[name](!)`) are kept apart
/// from real categories. A category's variables are its templates'
/// variables first (copied when the header is read, in the order the
/// templates are named), then its own. Repeated keys are all kept, in
/// order. [`Config::get`] answers like Asterisk's `ast_variable_retrieve`:
/// the first real category of that name, the last variable of that key
/// (names compare ASCII case-insensitively).
///
/// ```
/// use astrix::config::Config;
///
/// let config: Config = "
/// [endpoint-tpl](!)        ; a template
/// type = endpoint
/// context = from-internal
///
/// [alice](endpoint-tpl)
/// context = office         ; overrides the template's
/// allow = ulaw
/// allow = alaw
///
/// [default]
/// exten => 100,1,Answer()
///  same => n,Hangup()
/// ".parse()?;
///
/// assert_eq!(config.get("alice", "type"), Some("endpoint"));
/// assert_eq!(config.get("alice", "context"), Some("office"));
/// assert_eq!(config.get_all("alice", "allow"), ["ulaw", "alaw"]);
/// let names: Vec<_> = config.categories().map(|c| c.name()).collect();
/// assert_eq!(names, ["alice", "default"]);
/// assert_eq!(config.templates().count(), 1);
///
/// let v = config.variable("default", "same").unwrap();
/// assert_eq!((v.value(), v.is_object(), v.location().line), ("n,Hangup()", true, 13));
/// # Ok::<(), astrix::config::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub(crate) text: String,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) cats: Vec<Cat>,
    pub(crate) names: HashMap<String, Vec<u32>>,
    pub(crate) directives: Vec<DirectiveRec>,
    pub(crate) warnings: Vec<Warning>,
}

impl Config {
    /// Reads a file and its includes from disk (relative includes are
    /// relative to the including file). `#exec` is not run; use a
    /// [`Loader`] to allow it.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Loader::new(FsResolver::new()).load(path)
    }

    /// Parses a configuration held in a string, named `<string>` in
    /// locations. Every `#include` fails (nothing to resolve it against);
    /// use [`Config::parse`] with a resolver for includes.
    pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
        Loader::new(NoIncludes).parse("<string>", text.as_bytes())
    }

    /// Parses `bytes` as the file `name`; includes are read through
    /// `resolver` relative to `name`'s directory.
    pub fn parse(
        name: impl AsRef<Path>,
        bytes: &[u8],
        resolver: impl IncludeResolver,
    ) -> Result<Config, ConfigError> {
        Loader::new(resolver).parse(name, bytes)
    }

    fn cat(&self, idx: u32) -> Category<'_> {
        Category {
            config: self,
            cat: &self.cats[idx as usize],
        }
    }

    /// Real categories (not templates), in file order.
    pub fn categories(&self) -> impl Iterator<Item = Category<'_>> + '_ {
        self.all_categories().filter(|c| !c.is_template())
    }

    /// Templates (`[name](!)`), in file order.
    pub fn templates(&self) -> impl Iterator<Item = Category<'_>> + '_ {
        self.all_categories().filter(|c| c.is_template())
    }

    /// Categories and templates together, in file order.
    pub fn all_categories(&self) -> impl Iterator<Item = Category<'_>> + '_ {
        self.cats
            .iter()
            .map(move |cat| Category { config: self, cat })
    }

    fn by_name(&self, name: &str) -> impl Iterator<Item = Category<'_>> + '_ {
        self.names
            .get(&name.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .map(move |&i| self.cat(i))
    }

    /// The first real category with this name (ASCII case-insensitive).
    pub fn category(&self, name: &str) -> Option<Category<'_>> {
        self.by_name(name).find(|c| !c.is_template())
    }

    /// Every real category with this name, in order (a name may be used
    /// more than once without `(+)`).
    pub fn categories_named<'a>(&'a self, name: &str) -> impl Iterator<Item = Category<'a>> + 'a {
        self.by_name(name).filter(|c| !c.is_template())
    }

    /// The first template with this name.
    pub fn template(&self, name: &str) -> Option<Category<'_>> {
        self.by_name(name).find(|c| c.is_template())
    }

    /// The value of `key` in `category`: the last one, so that a category's
    /// own value overrides its template's.
    pub fn get(&self, category: &str, key: &str) -> Option<&str> {
        self.category(category)?.get(key)
    }

    /// Every value of `key` in `category`, in order (inherited first).
    pub fn get_all(&self, category: &str, key: &str) -> Vec<&str> {
        match self.category(category) {
            Some(c) => c.get_all(key).collect(),
            None => Vec::new(),
        }
    }

    /// The variable [`Config::get`] would answer, with its location.
    pub fn variable(&self, category: &str, key: &str) -> Option<Variable<'_>> {
        self.category(category)?.variable(key)
    }

    /// Every file read, the top one first, in the order they were read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The `#include`, `#tryinclude` and `#exec` directives, in the order
    /// they were read.
    pub fn directives(&self) -> impl Iterator<Item = Directive<'_>> + '_ {
        self.directives.iter().map(move |d| Directive {
            config: self,
            rec: d,
        })
    }

    /// What Asterisk would have logged and ignored.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    pub(crate) fn str(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.text
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    pub(crate) fn location(&self, file: u32, line: u32) -> Location<'_> {
        Location {
            file: self
                .files
                .get(file as usize)
                .map(PathBuf::as_path)
                .unwrap_or(Path::new("")),
            line,
        }
    }
}

impl FromStr for Config {
    type Err = ConfigError;

    /// As [`Config::parse_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Config::parse_str(s)
    }
}

/// A category (or template) of a [`Config`].
#[derive(Clone, Copy, Debug)]
pub struct Category<'a> {
    config: &'a Config,
    cat: &'a Cat,
}

impl<'a> Category<'a> {
    /// Its name, as written between `[` and `]`.
    pub fn name(&self) -> &'a str {
        &self.cat.name
    }

    /// Whether it is a template (`(!)`).
    pub fn is_template(&self) -> bool {
        self.cat.template
    }

    /// The templates (or categories) it inherits from, in order.
    pub fn inherits(&self) -> impl Iterator<Item = &'a str> + 'a {
        let config = self.config;
        self.cat
            .parents
            .iter()
            .map(move |&p| config.cats[p as usize].name.as_str())
    }

    /// Where its header is.
    pub fn location(&self) -> Location<'a> {
        self.config.location(self.cat.file, self.cat.line)
    }

    /// Its variables, inherited ones first, in order.
    pub fn variables(
        &self,
    ) -> impl DoubleEndedIterator<Item = Variable<'a>> + ExactSizeIterator + 'a {
        let config = self.config;
        self.cat
            .vars
            .iter()
            .map(move |var| Variable { config, var })
    }

    /// Its own variables (not inherited), in order.
    pub fn own_variables(&self) -> impl Iterator<Item = Variable<'a>> + 'a {
        self.variables().filter(|v| !v.is_inherited())
    }

    /// How many variables (inherited ones included).
    pub fn len(&self) -> usize {
        self.cat.vars.len()
    }

    /// Whether it has no variables.
    pub fn is_empty(&self) -> bool {
        self.cat.vars.is_empty()
    }

    /// The last variable named `key` (ASCII case-insensitive).
    pub fn variable(&self, key: &str) -> Option<Variable<'a>> {
        self.variables()
            .rev()
            .find(|v| v.name().eq_ignore_ascii_case(key))
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.variable(key).map(|v| v.value())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'k>(&self, key: &'k str) -> impl Iterator<Item = &'a str> + 'k
    where
        'a: 'k,
    {
        self.variables()
            .filter(move |v| v.name().eq_ignore_ascii_case(key))
            .map(|v| v.value())
    }
}

/// One `name = value` (or `name => value`) of a [`Category`].
#[derive(Clone, Copy, Debug)]
pub struct Variable<'a> {
    config: &'a Config,
    var: &'a Var,
}

impl<'a> Variable<'a> {
    /// Its name.
    pub fn name(&self) -> &'a str {
        self.config.str(self.var.name)
    }

    /// Its value, stripped, with `\;` read as `;` and `${…}` left as text.
    /// A value that is not UTF-8 in the file is read as Latin-1 (see
    /// [`Variable::is_latin1`]).
    pub fn value(&self) -> &'a str {
        self.config.str(self.var.value)
    }

    /// The value's bytes as the file has them (stripped, `\;` read as
    /// `;`): those of [`Variable::value`], or for a value read as Latin-1,
    /// the bytes it was read from.
    pub fn value_bytes(&self) -> Cow<'a, [u8]> {
        let value = self.value();
        if self.is_latin1() {
            Cow::Owned(crate::util::latin1_bytes(value).collect())
        } else {
            Cow::Borrowed(value.as_bytes())
        }
    }

    /// Whether the value was not UTF-8 in the file, and was read as
    /// Latin-1 (each byte one character).
    pub fn is_latin1(&self) -> bool {
        self.var.flags & LATIN1 != 0
    }

    /// Whether it was written `=>` (Asterisk calls these objects).
    pub fn is_object(&self) -> bool {
        self.var.flags & OBJECT != 0
    }

    /// Whether it came from a template.
    pub fn is_inherited(&self) -> bool {
        self.var.flags & INHERITED != 0
    }

    /// The template (or category) it was copied from, if inherited.
    pub fn inherited_from(&self) -> Option<&'a str> {
        self.config
            .cats
            .get(self.var.from as usize)
            .map(|c| c.name.as_str())
    }

    /// Where it was written (for an inherited variable, in the template;
    /// for one extended with `+=`, its first line).
    pub fn location(&self) -> Location<'a> {
        self.config.location(self.var.file, self.var.line)
    }
}

/// What kind of directive a [`Directive`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DirectiveKind {
    /// `#include`: the file (or glob) must be there.
    Include,
    /// `#tryinclude`: the file is read if it is there.
    TryInclude,
    /// `#exec`: a command whose output is read (only when allowed).
    Exec,
}

/// An `#include`, `#tryinclude` or `#exec` line and what it loaded.
#[derive(Clone, Copy, Debug)]
pub struct Directive<'a> {
    config: &'a Config,
    rec: &'a DirectiveRec,
}

impl<'a> Directive<'a> {
    /// Which directive.
    pub fn kind(&self) -> DirectiveKind {
        self.rec.kind
    }

    /// Its argument, without quotes.
    pub fn argument(&self) -> &'a str {
        &self.rec.argument
    }

    /// Where it was written.
    pub fn location(&self) -> Location<'a> {
        self.config.location(self.rec.file, self.rec.line)
    }

    /// The files it loaded, in order (none for a `#tryinclude` that found
    /// nothing, or an `#exec` that was not run).
    pub fn files(&self) -> impl Iterator<Item = &'a Path> + 'a {
        let config = self.config;
        self.rec
            .files
            .iter()
            .filter_map(move |&f| config.files.get(f as usize).map(PathBuf::as_path))
    }
}
