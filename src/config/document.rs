//! [`Document`]: one `.conf` file as text, edited in place.
//!
//! An edit changes only the bytes it must: setting a value replaces the
//! value's bytes (its comment, spacing and `=`/`=>` stay); a new variable
//! is a new line after the category's last statement; a deleted variable
//! is its line; renaming a category rewrites the name inside its header.
//! Every other byte, comments, blank lines and line endings (CRLF
//! included) stays as it was, so writing an unedited document gives back
//! the bytes it was read from, whatever they are (a Latin-1 file stays
//! Latin-1; what is written in is UTF-8).

use std::cell::OnceCell;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, EditError, ErrorKind};
use super::scan::{classify, HeaderOption, Scanner, Seg, Stmt};
use crate::util::decode_text;

/// A `.conf` file held for editing, in the spirit of Asterisk's
/// `UpdateConfig` but keeping every untouched byte.
///
/// Categories are found by name (ASCII case-insensitive) in this file
/// only: the first header of that name (template or not) together with
/// every later `[name](+)` block. Includes are not followed: edit an
/// included file through its own `Document`.
///
/// ```
/// use astrix::config::Document;
///
/// let mut doc = Document::parse("manager.conf", b"[general]\nenabled = no ; off for now\nport = 5038\n")?;
/// doc.set("general", "enabled", "yes").unwrap();
/// doc.append("general", "bindaddr", "127.0.0.1").unwrap();
/// doc.add_category("admin").unwrap();
/// doc.append("admin", "secret", "wordpass").unwrap();
/// assert_eq!(
///     doc.as_str(),
///     "[general]\nenabled = yes ; off for now\nport = 5038\nbindaddr = 127.0.0.1\n\n[admin]\nsecret = wordpass\n"
/// );
/// # Ok::<(), astrix::config::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Document {
    name: PathBuf,
    /// The file's bytes, edits applied.
    text: Vec<u8>,
    /// The text [`Document::as_str`] shows, when the bytes are not UTF-8.
    shown: OnceCell<String>,
    lines: Vec<LineInfo>,
    blocks: Vec<Block>,
}

#[derive(Clone, Copy, Debug)]
struct LineInfo {
    start: usize,
    next: usize,
    starts_in_block: bool,
    ends_in_block: bool,
}

#[derive(Clone, Debug)]
struct StmtPos {
    line: usize,
    /// Raw byte range of the statement's content.
    range: Range<usize>,
}

#[derive(Clone, Debug)]
struct VarPos {
    name: String,
    stmt: StmtPos,
    /// Raw range of the name.
    name_range: Range<usize>,
    /// Raw range of the value (possibly empty).
    value_range: Range<usize>,
    /// The raw value bytes read back as the value (no comment inside).
    value_clean: bool,
    object: bool,
    append: bool,
}

#[derive(Clone, Debug)]
struct Block {
    name: String,
    name_range: Range<usize>,
    /// A `[name](+)` block.
    adds: bool,
    header: StmtPos,
    vars: Vec<VarPos>,
}

/// Maps offsets of a line's content back to the raw text.
struct Mapper<'a> {
    segs: &'a [Seg],
    lead: usize,
}

impl Mapper<'_> {
    /// The raw offset of content byte `k`.
    fn at(&self, k: usize) -> usize {
        let mut j = self.lead + k;
        for s in self.segs {
            let len = s.end - s.start;
            if j < len {
                return s.start + j;
            }
            j -= len;
        }
        self.segs.last().map_or(0, |s| s.end)
    }

    /// The raw range of content bytes `r` (from its first byte to just
    /// after its last).
    fn range(&self, r: Range<usize>) -> Range<usize> {
        if r.is_empty() {
            let at = if r.start == 0 {
                self.at(0)
            } else {
                self.at(r.start - 1) + 1
            };
            return at..at;
        }
        self.at(r.start)..self.at(r.end - 1) + 1
    }
}

fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// Reads a raw value back: `\;` is `;`.
fn unescape_value(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && raw.get(i + 1) == Some(&b';') {
            i += 1;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

impl Document {
    /// Reads a file's bytes for editing (any bytes: names and values that
    /// are not UTF-8 read as Latin-1, see [`crate::config`]). The name is
    /// used in errors. Fails on what no edit could work around: an
    /// unterminated block comment, a broken category header.
    pub fn parse(name: impl AsRef<Path>, bytes: &[u8]) -> Result<Document, ConfigError> {
        let name = name.as_ref().to_path_buf();
        let text = bytes.to_vec();
        let (lines, blocks) = index(&name, &text)?;
        Ok(Document {
            name,
            text,
            shown: OnceCell::new(),
            lines,
            blocks,
        })
    }

    /// Reads a file from disk for editing.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Document, ConfigError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigError::new(
                path,
                0,
                ErrorKind::Read {
                    reason: e.to_string(),
                },
            )
        })?;
        Document::parse(path, &bytes)
    }

    /// The name it was read under.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// The text, edits applied: the bytes themselves when they are UTF-8;
    /// otherwise each line that is not UTF-8 read as Latin-1 (the bytes
    /// are [`Document::as_bytes`]).
    pub fn as_str(&self) -> &str {
        match std::str::from_utf8(&self.text) {
            Ok(s) => s,
            Err(_) => self.shown.get_or_init(|| shown_text(&self.text)),
        }
    }

    /// The bytes, edits applied: for an unedited document, exactly those
    /// it was read from.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// The text, edits applied (as [`Document::as_str`]).
    pub fn into_string(self) -> String {
        match String::from_utf8(self.text) {
            Ok(s) => s,
            Err(e) => shown_text(e.as_bytes()),
        }
    }

    /// The bytes, edits applied.
    pub fn into_bytes(self) -> Vec<u8> {
        self.text
    }

    /// Writes the text to `path` (through a temporary file beside it, then
    /// a rename, so that a reader never sees half a file).
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".astrix-tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &self.text)?;
        std::fs::rename(&tmp, path)
    }

    /// The names of the categories and templates in this file, in order,
    /// each once.
    pub fn category_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for b in &self.blocks {
            if !b.adds && !out.iter().any(|n| n.eq_ignore_ascii_case(&b.name)) {
                out.push(&b.name);
            }
        }
        out
    }

    /// Whether this file has a category (or template) with this name.
    pub fn has_category(&self, name: &str) -> bool {
        self.blocks
            .iter()
            .any(|b| !b.adds && b.name.eq_ignore_ascii_case(name))
    }

    /// The values of `key` written in this file's `category` (not
    /// inherited ones), in order; `+=` lines are not joined.
    pub fn values(&self, category: &str, key: &str) -> Vec<String> {
        self.target(category)
            .into_iter()
            .flat_map(|i| self.blocks[i].vars.iter())
            .filter(|v| v.name.eq_ignore_ascii_case(key))
            .map(|v| {
                let raw = unescape_value(&self.text[v.value_range.clone()]);
                decode_text(&raw).0.into_owned()
            })
            .collect()
    }

    /// The blocks that make up `category`: its first header and every
    /// later `(+)` block of that name.
    fn target(&self, category: &str) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            if !b.name.eq_ignore_ascii_case(category) {
                continue;
            }
            if b.adds || out.is_empty() {
                out.push(i);
            }
        }
        out
    }

    fn target_or_err(&self, category: &str) -> Result<Vec<usize>, EditError> {
        let t = self.target(category);
        if t.is_empty() {
            return Err(EditError::NoSuchCategory(category.to_string()));
        }
        Ok(t)
    }

    fn eol(&self) -> &'static str {
        match memchr::memchr(b'\n', &self.text) {
            Some(i) if i > 0 && self.text[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Applies edits (non-overlapping byte ranges and their replacements),
    /// then re-reads the text; on any failure nothing changes.
    fn apply(&mut self, mut edits: Vec<(Range<usize>, String)>) -> Result<(), EditError> {
        edits.sort_by_key(|e| std::cmp::Reverse(e.0.start));
        let mut text = self.text.clone();
        for (range, with) in edits {
            text.splice(range, with.into_bytes());
        }
        let (lines, blocks) =
            index(&self.name, &text).map_err(|e| EditError::Reparse(Box::new(e)))?;
        self.text = text;
        self.shown = OnceCell::new();
        self.lines = lines;
        self.blocks = blocks;
        Ok(())
    }

    /// The byte range that removes a statement: its whole line when the
    /// line holds nothing else that matters, otherwise just the statement.
    fn removal(&self, first: &StmtPos, last: &StmtPos) -> Range<usize> {
        let l1 = self.lines[first.line];
        let l2 = self.lines[last.line];
        let start = if l1.starts_in_block {
            first.range.start
        } else {
            l1.start
        };
        let end = if l2.ends_in_block {
            last.range.end
        } else {
            l2.next
        };
        start..end
    }

    /// Where a line after `stmt` can go: the start of the first line after
    /// it that does not begin inside a block comment.
    fn insertion_after(&self, stmt: &StmtPos) -> usize {
        self.lines[stmt.line + 1..]
            .iter()
            .find(|l| !l.starts_in_block)
            .map_or(self.text.len(), |l| l.start)
    }

    /// Sets `key` in `category`: the last such variable gets the new value
    /// (its `+=` continuations are removed); when there is none, a new
    /// `key = value` line is appended to the category.
    pub fn set(&mut self, category: &str, key: &str, value: &str) -> Result<(), EditError> {
        check_name(key)?;
        check_value(value)?;
        let target = self.target_or_err(category)?;
        let found = target
            .iter()
            .flat_map(|&b| self.blocks[b].vars.iter())
            .rfind(|v| !v.append && v.name.eq_ignore_ascii_case(key))
            .cloned();
        let Some(var) = found else {
            return self.append(category, key, value);
        };
        let mut edits = Vec::new();
        let mut after = false;
        for v in target.iter().flat_map(|&b| self.blocks[b].vars.iter()) {
            if v.stmt.range.start == var.stmt.range.start {
                after = true;
            } else if after && v.append && v.name == var.name {
                edits.push((self.removal(&v.stmt, &v.stmt), String::new()));
            }
        }
        if var.value_clean {
            let mut with = escape_value(value);
            let bytes = &self.text;
            let before = var.value_range.start.checked_sub(1).map(|i| bytes[i]);
            if before == Some(b'=') && !var.object && with.starts_with('>') {
                with.insert(0, ' ');
            }
            if var.value_range.is_empty() && before.is_some_and(|b| b == b'=' || b == b'>') {
                let sep_start = var.name_range.end;
                if self.text[sep_start..var.value_range.start].starts_with(b" ")
                    || self.text[sep_start..var.value_range.start].starts_with(b"\t")
                {
                    with.insert(0, ' ');
                }
            }
            if with.ends_with('\\') && bytes.get(var.value_range.end) == Some(&b';') {
                with.push(' ');
            }
            edits.push((var.value_range.clone(), with));
        } else {
            let sep = if var.object { " => " } else { " = " };
            edits.push((
                var.stmt.range.clone(),
                format!("{}{sep}{}", var.name, escape_value(value)),
            ));
        }
        self.apply(edits)
    }

    /// Appends `key = value` to `category`, after its last variable (repeated
    /// keys are allowed: this is how `exten =>` lines grow).
    pub fn append(&mut self, category: &str, key: &str, value: &str) -> Result<(), EditError> {
        self.append_line(category, key, value, false)
    }

    /// Appends `key => value` (an object line, as `exten =>`).
    pub fn append_object(
        &mut self,
        category: &str,
        key: &str,
        value: &str,
    ) -> Result<(), EditError> {
        self.append_line(category, key, value, true)
    }

    fn append_line(
        &mut self,
        category: &str,
        key: &str,
        value: &str,
        object: bool,
    ) -> Result<(), EditError> {
        check_name(key)?;
        check_value(value)?;
        let target = self.target_or_err(category)?;
        let Some(&last_block) = target.last() else {
            return Err(EditError::NoSuchCategory(category.to_string()));
        };
        let block = &self.blocks[last_block];
        let last = block.vars.last().map_or(&block.header, |v| &v.stmt);
        // Follow the spacing of the category's last variable.
        let (pre, post) = match target
            .iter()
            .flat_map(|&b| self.blocks[b].vars.iter())
            .last()
        {
            Some(v) => {
                let between = &self.text[v.name_range.end..v.value_range.start];
                let space = |b: &&u8| matches!(b, b' ' | b'\t');
                let pre_len = between.iter().take_while(space).count();
                let post_len = between.iter().rev().take_while(space).count();
                if pre_len + post_len <= between.len() {
                    // Spaces and tabs only: ASCII.
                    let pre = std::str::from_utf8(&between[..pre_len]).unwrap_or(" ");
                    let post =
                        std::str::from_utf8(&between[between.len() - post_len..]).unwrap_or(" ");
                    (pre, post)
                } else {
                    (" ", " ")
                }
            }
            None => (" ", " "),
        };
        let sep = if object { "=>" } else { "=" };
        let mut with = escape_value(value);
        if !object && post.is_empty() && with.starts_with('>') {
            with.insert(0, ' ');
        }
        let eol = self.eol();
        let mut line = String::new();
        // After a block comment that opens behind `last` on its line, the
        // next line that starts outside it may come after a statement that
        // shares the comment's closing line (another category's header):
        // then the new line goes right after `last`, and the comment moves
        // to a line of its own.
        let after = self.insertion_after(last);
        let between = |r: &Range<usize>| r.start >= last.range.end && r.start < after;
        let skipped = self.blocks.iter().any(|b| {
            (b.header.range != last.range && between(&b.header.range))
                || b.vars
                    .iter()
                    .any(|v| v.stmt.range != last.range && between(&v.stmt.range))
        });
        let at = if skipped {
            line.push_str(eol);
            last.range.end
        } else {
            after
        };
        if at == self.text.len() && !self.text.is_empty() && !self.text.ends_with(b"\n") {
            line.push_str(eol);
        }
        line.push_str(&format!("{key}{pre}{sep}{post}{with}{eol}"));
        self.apply(vec![(at..at, line)])
    }

    /// Deletes every `key` (and its `+=` lines) in `category`; answers how
    /// many lines went.
    pub fn delete(&mut self, category: &str, key: &str) -> Result<usize, EditError> {
        let target = self.target_or_err(category)?;
        let edits: Vec<_> = target
            .iter()
            .flat_map(|&b| self.blocks[b].vars.iter())
            .filter(|v| v.name.eq_ignore_ascii_case(key))
            .map(|v| (self.removal(&v.stmt, &v.stmt), String::new()))
            .collect();
        let n = edits.len();
        if n > 0 {
            self.apply(edits)?;
        }
        Ok(n)
    }

    /// Adds an empty category `[name]` at the end of the file.
    pub fn add_category(&mut self, name: &str) -> Result<(), EditError> {
        self.add_header(name, false, &[])
    }

    /// Adds an empty template `[name](!)` at the end of the file.
    pub fn add_template(&mut self, name: &str) -> Result<(), EditError> {
        self.add_header(name, true, &[])
    }

    /// Adds `[name](tpl1,tpl2)` at the end of the file (`[name](!,…)` when
    /// `template`).
    pub fn add_category_from(
        &mut self,
        name: &str,
        template: bool,
        inherits: &[&str],
    ) -> Result<(), EditError> {
        self.add_header(name, template, inherits)
    }

    fn add_header(
        &mut self,
        name: &str,
        template: bool,
        inherits: &[&str],
    ) -> Result<(), EditError> {
        check_category(name)?;
        for t in inherits {
            if t.contains([',', ')']) {
                return Err(EditError::InvalidCategoryName(t.to_string()));
            }
            check_category(t)?;
        }
        if self.has_category(name) {
            return Err(EditError::CategoryExists(name.to_string()));
        }
        let mut opts: Vec<&str> = Vec::new();
        if template {
            opts.push("!");
        }
        opts.extend_from_slice(inherits);
        let eol = self.eol();
        let mut add = String::new();
        if !self.text.is_empty() {
            if !self.text.ends_with(b"\n") {
                add.push_str(eol);
            }
            let mut t = self.text[self.text.len().saturating_sub(3)..].to_vec();
            t.extend_from_slice(add.as_bytes());
            if !(t.ends_with(b"\n\n") || t.ends_with(b"\n\r\n")) {
                add.push_str(eol);
            }
        }
        add.push('[');
        add.push_str(name);
        add.push(']');
        if !opts.is_empty() {
            add.push('(');
            add.push_str(&opts.join(","));
            add.push(')');
        }
        add.push_str(eol);
        let at = self.text.len();
        self.apply(vec![(at..at, add)])
    }

    /// Deletes a category: its header and every line up to its last
    /// statement, in every block of it (`(+)` blocks too). Comments and
    /// blank lines after its last statement stay (they usually introduce
    /// the next category).
    pub fn delete_category(&mut self, name: &str) -> Result<(), EditError> {
        let target = self.target_or_err(name)?;
        let edits = target
            .iter()
            .map(|&b| {
                let block = &self.blocks[b];
                let last = block.vars.last().map_or(&block.header, |v| &v.stmt);
                (self.removal(&block.header, last), String::new())
            })
            .collect();
        self.apply(edits)
    }

    /// Renames a category in its header (and its `(+)` headers); options
    /// and comments stay.
    pub fn rename_category(&mut self, old: &str, new: &str) -> Result<(), EditError> {
        check_category(new)?;
        let target = self.target_or_err(old)?;
        if !old.eq_ignore_ascii_case(new) && self.has_category(new) {
            return Err(EditError::CategoryExists(new.to_string()));
        }
        let edits = target
            .iter()
            .map(|&b| (self.blocks[b].name_range.clone(), new.to_string()))
            .collect();
        self.apply(edits)
    }
}

fn check_category(name: &str) -> Result<(), EditError> {
    let bad = name.is_empty()
        || name.contains([']', ';', '\n', '\r', '\\'])
        || name.bytes().next().is_some_and(|b| b < 33)
        || name.bytes().last().is_some_and(|b| b < 33);
    if bad {
        return Err(EditError::InvalidCategoryName(name.to_string()));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), EditError> {
    let bad = name.is_empty()
        || name.contains(['=', ';', '\n', '\r'])
        || name.ends_with('+')
        || name.starts_with(['[', '#', '\\'])
        || name.bytes().next().is_some_and(|b| b < 33)
        || name.bytes().last().is_some_and(|b| b < 33);
    if bad {
        return Err(EditError::InvalidName(name.to_string()));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), EditError> {
    let bad = value.contains(['\n', '\r'])
        || value.bytes().next().is_some_and(|b| b < 33)
        || value.bytes().last().is_some_and(|b| b < 33);
    if bad {
        return Err(EditError::InvalidValue(value.to_string()));
    }
    Ok(())
}

/// Writes a value so that it reads back the same: `;` becomes `\;`.
fn escape_value(value: &str) -> String {
    value.replace(';', "\\;")
}

/// The text of bytes that are not all UTF-8: each line that is not UTF-8
/// read as Latin-1 (see [`decode_text`]).
fn shown_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        out.push_str(&decode_text(line).0);
    }
    out
}

/// Reads a file's structure: its lines and its category blocks.
fn index(name: &Path, text: &[u8]) -> Result<(Vec<LineInfo>, Vec<Block>), ConfigError> {
    let mut lines = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut sc = Scanner::new(text, usize::MAX);
    let err = |line: u32, kind| ConfigError::new(name, line, kind);
    while let Some(line) = sc.next_line() {
        let line = line.map_err(|(n, k)| err(n, k))?;
        let li = lines.len();
        lines.push(LineInfo {
            start: line.start,
            next: line.next,
            starts_in_block: line.starts_in_block,
            ends_in_block: line.ends_in_block,
        });
        let content = line.content;
        if content.is_empty() {
            continue;
        }
        let number = line.number;
        let stmt = classify(content).map_err(|k| err(number, k))?;
        let map = Mapper {
            segs: line.segs,
            lead: line.lead,
        };
        let pos = StmtPos {
            line: li,
            range: map.range(0..content.len()),
        };
        match stmt {
            Stmt::Header(h) => {
                let adds = h.options().any(|o| matches!(o, HeaderOption::Append(_)));
                blocks.push(Block {
                    name: decode_text(h.name).0.into_owned(),
                    name_range: map.range(1..1 + h.name.len()),
                    adds,
                    header: pos,
                    vars: Vec::new(),
                });
            }
            Stmt::Var(v) => {
                let Some(block) = blocks.last_mut() else {
                    continue;
                };
                let n0 = offset_in(content, v.name);
                let v0 = offset_in(content, v.value);
                let value_range = map.range(v0..v0 + v.value.len());
                let value_clean = unescape_value(&text[value_range.clone()]) == v.value;
                block.vars.push(VarPos {
                    name: decode_text(v.name).0.into_owned(),
                    stmt: pos,
                    name_range: map.range(n0..n0 + v.name.len()),
                    value_range,
                    value_clean,
                    object: v.object,
                    append: v.append,
                });
            }
            Stmt::Directive { .. } | Stmt::Ignored(_) => {}
        }
    }
    if let Some(open) = sc.unclosed() {
        return Err(err(open, ErrorKind::UnterminatedComment));
    }
    Ok((lines, blocks))
}
