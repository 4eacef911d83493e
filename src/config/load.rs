//! [`Loader`]: reads a configuration through an [`IncludeResolver`] and
//! builds a [`Config`], applying Asterisk's rules line by line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ErrorKind, Warning, WarningKind};
use super::glob;
use super::model::{
    Cat, Config, DirectiveKind, DirectiveRec, Span, Var, INHERITED, LATIN1, NO_CAT, OBJECT,
};
use super::resolver::IncludeResolver;
use super::scan::{classify, strip, HeaderOption, Scanner, Stmt, DEFAULT_MAX_LINE_LEN};
use crate::util::{decode_text, latin1_bytes};

/// A name, header or argument as text (see [`decode_text`]).
fn as_text(bytes: &[u8]) -> String {
    decode_text(bytes).0.into_owned()
}

/// Asterisk's limit on include nesting.
pub const DEFAULT_MAX_INCLUDE_DEPTH: usize = 10;

/// The deepest include nesting a [`Loader`] accepts, whatever it is told.
const HARD_MAX_INCLUDE_DEPTH: usize = 64;

/// Reads configurations through a resolver, with options.
///
/// ```
/// use astrix::config::{Loader, MemoryResolver};
///
/// let files = MemoryResolver::new()
///     .with_file("/etc/asterisk/pjsip.conf", "#include pjsip.d/*.conf\n")
///     .with_file("/etc/asterisk/pjsip.d/alice.conf", "[alice]\ntype = endpoint\n")
///     .with_file("/etc/asterisk/pjsip.d/bob.conf", "[bob]\ntype = endpoint\n");
/// let config = Loader::new(files).load("/etc/asterisk/pjsip.conf")?;
/// let names: Vec<_> = config.categories().map(|c| c.name()).collect();
/// assert_eq!(names, ["alice", "bob"]);
/// # Ok::<(), astrix::config::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct Loader<R> {
    resolver: R,
    allow_exec: bool,
    max_include_depth: usize,
    max_line_len: usize,
}

impl<R: IncludeResolver> Loader<R> {
    /// A loader with Asterisk's defaults: `#exec` not run, includes nested
    /// at most 10 deep, lines of 8191 bytes or more skipped.
    pub fn new(resolver: R) -> Self {
        Loader {
            resolver,
            allow_exec: false,
            max_include_depth: DEFAULT_MAX_INCLUDE_DEPTH,
            max_line_len: DEFAULT_MAX_LINE_LEN,
        }
    }

    /// Has no effect any more: every file is read as bytes, as Asterisk
    /// reads it, and a name or value that is not UTF-8 is read as Latin-1
    /// (see [`crate::config`]), with no option needed.
    #[deprecated(note = "every file is read; values that are not UTF-8 are read as Latin-1")]
    pub fn latin1_fallback(self, _allow: bool) -> Self {
        self
    }

    /// Runs `#exec` commands through the resolver (Asterisk's
    /// `execincludes = yes`). Off by default: an `#exec` line is then kept
    /// as a [`crate::config::Directive`] and a warning.
    pub fn allow_exec(mut self, allow: bool) -> Self {
        self.allow_exec = allow;
        self
    }

    /// How deep includes may nest (at most 64).
    pub fn max_include_depth(mut self, depth: usize) -> Self {
        self.max_include_depth = depth.min(HARD_MAX_INCLUDE_DEPTH);
        self
    }

    /// The longest line read, in bytes without its newline; longer lines
    /// are skipped with a warning, as Asterisk does past 8190.
    pub fn max_line_len(mut self, len: usize) -> Self {
        self.max_line_len = len;
        self
    }

    /// The resolver back.
    pub fn into_resolver(self) -> R {
        self.resolver
    }

    /// Reads `path` through the resolver and everything it includes.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let bytes = self.resolver.read(path).map_err(|e| {
            ConfigError::new(
                path,
                0,
                ErrorKind::Read {
                    reason: e.to_string(),
                },
            )
        })?;
        self.parse(path, &bytes)
    }

    /// Parses `bytes` as the file `name`; includes go through the resolver.
    pub fn parse(&mut self, name: impl AsRef<Path>, bytes: &[u8]) -> Result<Config, ConfigError> {
        let name = name.as_ref();
        let mut build = Build {
            resolver: &mut self.resolver,
            allow_exec: self.allow_exec,
            max_include_depth: self.max_include_depth,
            max_line_len: self.max_line_len,
            cfg: Config::default(),
            slots: HashMap::new(),
            index: Vec::new(),
            stack: Vec::new(),
            current: None,
            input_bytes: 0,
            records: 0,
            recent: [Span::default(); 4],
            recent_at: 0,
        };
        let id = build.resolver.identity(name);
        let mut cat = None;
        build.file(name.to_path_buf(), id, bytes, &mut cat, 0)?;
        let mut cfg = build.cfg;
        cfg.names = build
            .slots
            .into_iter()
            .map(|(k, slot)| (k, slot.all))
            .collect();
        cfg.text.shrink_to_fit();
        Ok(cfg)
    }
}

/// Every category with one (lower-cased) name.
struct Slot {
    all: Vec<u32>,
    /// Index into `all` of the first one that may not be a template
    /// (categories only ever become templates, never the other way).
    real: usize,
}

/// How a header's options end: a new category, or an earlier one (`+`).
enum Target {
    New(Cat),
    Existing(u32),
}

struct Build<'r> {
    resolver: &'r mut dyn IncludeResolver,
    allow_exec: bool,
    max_include_depth: usize,
    max_line_len: usize,
    cfg: Config,
    slots: HashMap<String, Slot>,
    /// Per category, built on its first `+=`: the last variable of each
    /// exact name.
    index: Vec<Option<HashMap<String, u32>>>,
    /// Identities of the files being read, outermost first.
    stack: Vec<PathBuf>,
    /// The category Asterisk calls current: where an included file's lines
    /// go before its first header.
    current: Option<u32>,
    input_bytes: usize,
    records: usize,
    /// Recently stored variable names, shared between variables.
    recent: [Span; 4],
    recent_at: usize,
}

type Res<T> = Result<T, ConfigError>;

impl Build<'_> {
    fn err(&self, file: u32, line: u32, kind: ErrorKind) -> ConfigError {
        let path = self
            .cfg
            .files
            .get(file as usize)
            .map(PathBuf::as_path)
            .unwrap_or(Path::new(""));
        ConfigError::new(path, line, kind)
    }

    fn warn(&mut self, file: u32, line: u32, kind: WarningKind) {
        let path = self
            .cfg
            .files
            .get(file as usize)
            .cloned()
            .unwrap_or_default();
        log::debug!("{}:{}: {}", path.display(), line, kind);
        self.cfg.warnings.push(Warning {
            file: path,
            line,
            kind,
        });
    }

    fn arena_limit(&self) -> usize {
        (self.input_bytes.saturating_mul(8))
            .max(64 << 20)
            .min(u32::MAX as usize)
    }

    fn record_limit(&self) -> usize {
        self.input_bytes.max(1 << 22)
    }

    /// Stores `s` in the arena.
    fn store(&mut self, s: &str, file: u32, line: u32) -> Res<Span> {
        let start = self.cfg.text.len();
        let limit = self.arena_limit();
        if start + s.len() > limit {
            return Err(self.err(
                file,
                line,
                ErrorKind::TooLarge {
                    what: "bytes of names and values",
                    limit,
                },
            ));
        }
        self.cfg.text.push_str(s);
        Ok(Span {
            start: start as u32,
            len: s.len() as u32,
        })
    }

    fn store_name(&mut self, name: &str, file: u32, line: u32) -> Res<Span> {
        for span in self.recent {
            if span.len as usize == name.len() && self.cfg.str(span) == name {
                return Ok(span);
            }
        }
        let span = self.store(name, file, line)?;
        self.recent[self.recent_at % self.recent.len()] = span;
        self.recent_at = self.recent_at.wrapping_add(1);
        Ok(span)
    }

    fn count_record(&mut self, n: usize, file: u32, line: u32) -> Res<()> {
        self.records += n;
        let limit = self.record_limit();
        if self.records > limit {
            return Err(self.err(
                file,
                line,
                ErrorKind::TooLarge {
                    what: "variables",
                    limit,
                },
            ));
        }
        Ok(())
    }

    fn push_var(&mut self, cat: u32, var: Var) {
        let c = cat as usize;
        let pos = self.cfg.cats[c].vars.len() as u32;
        if let Some(Some(ix)) = self.index.get_mut(c) {
            let name =
                self.cfg.text[var.name.start as usize..][..var.name.len as usize].to_string();
            ix.insert(name, pos);
        }
        self.cfg.cats[c].vars.push(var);
    }

    /// Reads one file's bytes (already fetched) into the configuration.
    fn file(
        &mut self,
        path: PathBuf,
        id: PathBuf,
        bytes: &[u8],
        cat: &mut Option<u32>,
        depth: usize,
    ) -> Res<u32> {
        self.input_bytes = self.input_bytes.saturating_add(bytes.len());
        let file = self.cfg.files.len() as u32;
        self.cfg.files.push(path);
        self.stack.push(id);
        let r = self.lines(file, bytes, cat, depth);
        self.stack.pop();
        r.map(|()| file)
    }

    fn lines(&mut self, file: u32, text: &[u8], cat: &mut Option<u32>, depth: usize) -> Res<()> {
        let mut sc = Scanner::new(text, self.max_line_len);
        while let Some(line) = sc.next_line() {
            let line = line.map_err(|(n, k)| self.err(file, n, k))?;
            let n = line.number;
            if line.too_long {
                let limit = self.max_line_len;
                self.warn(file, n, WarningKind::LineTooLong { limit });
                continue;
            }
            if line.stray_end {
                self.warn(file, n, WarningKind::StrayCommentEnd);
            }
            if line.content.is_empty() {
                continue;
            }
            match classify(line.content).map_err(|k| self.err(file, n, k))? {
                Stmt::Var(v) => {
                    let Some(c) = *cat else {
                        return Err(self.err(file, n, ErrorKind::NoCategory));
                    };
                    let var_name = decode_text(v.name).0;
                    if v.append {
                        if let Some(at) = self.find_exact(c, &var_name) {
                            self.extend(c, at, v.value, file, n)?;
                            continue;
                        }
                    }
                    let name = self.store_name(&var_name, file, n)?;
                    let (value, latin1) = decode_text(strip(v.value));
                    let value = self.store(&value, file, n)?;
                    self.count_record(1, file, n)?;
                    let mut flags = if v.object { OBJECT } else { 0 };
                    if latin1 {
                        flags |= LATIN1;
                    }
                    self.push_var(
                        c,
                        Var {
                            name,
                            value,
                            file,
                            line: n,
                            from: NO_CAT,
                            flags,
                        },
                    );
                }
                Stmt::Ignored(kind) => {
                    if cat.is_none() {
                        return Err(self.err(file, n, ErrorKind::NoCategory));
                    }
                    self.warn(file, n, kind);
                }
                Stmt::Header(h) => {
                    let header_name = as_text(h.name);
                    let mut target = Target::New(Cat {
                        name: header_name.clone(),
                        template: false,
                        file,
                        line: n,
                        parents: Vec::new(),
                        vars: Vec::new(),
                    });
                    for opt in h.options() {
                        match opt {
                            HeaderOption::Template => match &mut target {
                                Target::New(c) => c.template = true,
                                Target::Existing(e) => self.cfg.cats[*e as usize].template = true,
                            },
                            HeaderOption::Empty => {
                                self.warn(file, n, WarningKind::EmptyTemplateName)
                            }
                            HeaderOption::Append(filter) => {
                                if !filter.is_empty() {
                                    let filter = as_text(filter);
                                    self.warn(file, n, WarningKind::FilterIgnored { filter });
                                }
                                let Some(existing) = self.first_real(&header_name) else {
                                    let name = header_name.clone();
                                    return Err(self.err(
                                        file,
                                        n,
                                        ErrorKind::UnknownCategory { name },
                                    ));
                                };
                                if let Target::New(newcat) =
                                    std::mem::replace(&mut target, Target::Existing(existing))
                                {
                                    let e = existing as usize;
                                    self.cfg.cats[e].template |= newcat.template;
                                    self.cfg.cats[e].parents.extend(newcat.parents);
                                    for var in newcat.vars {
                                        self.push_var(existing, var);
                                    }
                                }
                            }
                            HeaderOption::Inherit(name) => {
                                let name = as_text(name);
                                let Some(base) = self.first_any(&name) else {
                                    return Err(self.err(
                                        file,
                                        n,
                                        ErrorKind::UnknownTemplate { name },
                                    ));
                                };
                                let copies: Vec<Var> = self.cfg.cats[base as usize]
                                    .vars
                                    .iter()
                                    .map(|v| Var {
                                        flags: v.flags | INHERITED,
                                        from: base,
                                        ..*v
                                    })
                                    .collect();
                                self.count_record(copies.len(), file, n)?;
                                match &mut target {
                                    Target::New(c) => {
                                        c.parents.push(base);
                                        c.vars.extend(copies);
                                    }
                                    Target::Existing(e) => {
                                        let e = *e;
                                        self.cfg.cats[e as usize].parents.push(base);
                                        for var in copies {
                                            self.push_var(e, var);
                                        }
                                    }
                                }
                            }
                        }
                    }
                    let idx = match target {
                        Target::New(c) => self.add_category(c),
                        Target::Existing(e) => e,
                    };
                    *cat = Some(idx);
                    self.current = Some(idx);
                }
                Stmt::Directive { name, arg } => {
                    let kind = if name.eq_ignore_ascii_case(b"include") {
                        DirectiveKind::Include
                    } else if name.eq_ignore_ascii_case(b"tryinclude") {
                        DirectiveKind::TryInclude
                    } else if name.eq_ignore_ascii_case(b"exec") {
                        DirectiveKind::Exec
                    } else {
                        let name = as_text(name);
                        self.warn(file, n, WarningKind::UnknownDirective { name });
                        continue;
                    };
                    let Some(arg) = arg else {
                        let name = as_text(name);
                        self.warn(file, n, WarningKind::MissingArgument { name });
                        continue;
                    };
                    let arg = as_text(arg);
                    self.directive(kind, arg, file, n, depth)?;
                }
            }
        }
        if let Some(open) = sc.unclosed() {
            return Err(self.err(file, open, ErrorKind::UnterminatedComment));
        }
        Ok(())
    }

    fn add_category(&mut self, c: Cat) -> u32 {
        let idx = self.cfg.cats.len() as u32;
        let key = c.name.to_ascii_lowercase();
        self.cfg.cats.push(c);
        self.index.push(None);
        self.slots
            .entry(key)
            .or_insert_with(|| Slot {
                all: Vec::new(),
                real: 0,
            })
            .all
            .push(idx);
        idx
    }

    /// The first category (template or not) with this name.
    fn first_any(&self, name: &str) -> Option<u32> {
        self.slots
            .get(&name.to_ascii_lowercase())
            .and_then(|s| s.all.first().copied())
    }

    /// The first category with this name that is not a template.
    fn first_real(&mut self, name: &str) -> Option<u32> {
        let cats = &self.cfg.cats;
        let slot = self.slots.get_mut(&name.to_ascii_lowercase())?;
        while let Some(&i) = slot.all.get(slot.real) {
            if !cats[i as usize].template {
                return Some(i);
            }
            slot.real += 1;
        }
        None
    }

    /// The last variable of `cat` named exactly `name` (what `+=` extends).
    fn find_exact(&mut self, cat: u32, name: &str) -> Option<usize> {
        let c = cat as usize;
        if self.index[c].is_none() {
            let mut ix = HashMap::new();
            for (i, v) in self.cfg.cats[c].vars.iter().enumerate() {
                ix.insert(self.cfg.str(v.name).to_string(), i as u32);
            }
            self.index[c] = Some(ix);
        }
        self.index[c]
            .as_ref()
            .and_then(|ix| ix.get(name))
            .map(|&i| i as usize)
    }

    /// `name += piece`: appends to the value, then strips as Asterisk does.
    /// The value's bytes as a whole decide how it reads (see
    /// [`decode_text`]).
    fn extend(&mut self, cat: u32, at: usize, piece: &[u8], file: u32, line: u32) -> Res<()> {
        let var = self.cfg.cats[cat as usize].vars[at];
        let piece = match std::str::from_utf8(piece) {
            Ok(p) if var.flags & LATIN1 == 0 => p,
            _ => {
                let old = self.cfg.str(var.value);
                let mut raw: Vec<u8> = if var.flags & LATIN1 != 0 {
                    latin1_bytes(old).collect()
                } else {
                    old.as_bytes().to_vec()
                };
                raw.extend_from_slice(piece);
                let (value, latin1) = decode_text(strip(&raw));
                let span = self.store(&value, file, line)?;
                let var = &mut self.cfg.cats[cat as usize].vars[at];
                var.value = span;
                var.flags = if latin1 {
                    var.flags | LATIN1
                } else {
                    var.flags & !LATIN1
                };
                return Ok(());
            }
        };
        let old = var.value;
        let old_end = old.start as usize + old.len as usize;
        let limit = self.arena_limit();
        let grow = if old_end == self.cfg.text.len() {
            piece.len()
        } else {
            old.len as usize + piece.len()
        };
        if self.cfg.text.len() + grow > limit {
            return Err(self.err(
                file,
                line,
                ErrorKind::TooLarge {
                    what: "bytes of names and values",
                    limit,
                },
            ));
        }
        let start = if old_end == self.cfg.text.len() {
            old.start as usize
        } else {
            let start = self.cfg.text.len();
            let copy = self.cfg.text[old.start as usize..old_end].to_string();
            self.cfg.text.push_str(&copy);
            start
        };
        self.cfg.text.push_str(piece);
        let whole = &self.cfg.text[start..];
        let trimmed_end = whole.trim_end_matches(|c: char| (c as u32) < 33).len();
        self.cfg.text.truncate(start + trimmed_end);
        let lead = self.cfg.text[start..].len()
            - self.cfg.text[start..]
                .trim_start_matches(|c: char| (c as u32) < 33)
                .len();
        let span = Span {
            start: (start + lead) as u32,
            len: (trimmed_end - lead) as u32,
        };
        self.cfg.cats[cat as usize].vars[at].value = span;
        Ok(())
    }

    fn directive(
        &mut self,
        kind: DirectiveKind,
        arg: String,
        file: u32,
        line: u32,
        depth: usize,
    ) -> Res<()> {
        let rec = self.cfg.directives.len();
        self.cfg.directives.push(DirectiveRec {
            kind,
            argument: arg.clone(),
            file,
            line,
            files: Vec::new(),
        });
        if kind == DirectiveKind::Exec && !self.allow_exec {
            self.warn(file, line, WarningKind::ExecDisabled { command: arg });
            return Ok(());
        }
        if depth + 1 > self.max_include_depth {
            let limit = self.max_include_depth;
            return Err(self.err(file, line, ErrorKind::IncludeTooDeep { limit }));
        }
        let dir = self.cfg.files[file as usize]
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // Lines of an included file go to the current category until its
        // first header; the includer's own category does not change.
        let mut cat = self.current;
        if kind == DirectiveKind::Exec {
            let bytes = self.resolver.exec(&arg, &dir).map_err(|e| {
                self.err(
                    file,
                    line,
                    ErrorKind::Exec {
                        command: arg.clone(),
                        reason: e.to_string(),
                    },
                )
            })?;
            let name = PathBuf::from(format!("#exec {arg}"));
            let f = self.file(name.clone(), name, &bytes, &mut cat, depth + 1)?;
            self.cfg.directives[rec].files.push(f);
            return Ok(());
        }
        let resolver = &mut *self.resolver;
        let paths = glob::expand(&dir, &arg, &mut |d: &Path| {
            resolver
                .read_dir(d)
                .map(|entries| entries.into_iter().map(|e| (e.name, e.is_dir)).collect())
                .unwrap_or_default()
        });
        let mut reason = String::from("no file matches");
        let mut loaded = 0;
        for path in paths {
            let id = self.resolver.identity(&path);
            if self.stack.contains(&id) {
                let path = path.display().to_string();
                return Err(self.err(file, line, ErrorKind::IncludeLoop { path }));
            }
            match self.resolver.read(&path) {
                Ok(bytes) => {
                    loaded += 1;
                    let f = self.file(path, id, &bytes, &mut cat, depth + 1)?;
                    self.cfg.directives[rec].files.push(f);
                }
                Err(e) => {
                    reason = e.to_string();
                    if e.kind() != std::io::ErrorKind::NotFound {
                        let path = path.display().to_string();
                        let reason = reason.clone();
                        self.warn(file, line, WarningKind::Unreadable { path, reason });
                    }
                }
            }
        }
        if loaded == 0 {
            if kind == DirectiveKind::Include {
                return Err(self.err(
                    file,
                    line,
                    ErrorKind::IncludeNotFound {
                        pattern: arg,
                        reason,
                    },
                ));
            }
            self.warn(file, line, WarningKind::TryIncludeMissing { pattern: arg });
        }
        Ok(())
    }
}
