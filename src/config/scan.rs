//! The line scanner: physical lines in, comment-free content out.
//!
//! Asterisk reads a file line by line. On each line it looks at every `;`:
//! `\;` is a literal semicolon (the backslash goes), `;--` (not `;---`)
//! opens a block comment (they nest), `--;` closes one, and any other `;`
//! outside a block comment ends the line. Text before a block comment and
//! after its end on the same line is joined. What is left is stripped of
//! bytes below 33 at both ends. A UTF-8 byte order mark on the first line
//! is skipped; lines longer than the limit are skipped whole.
//!
//! Like Asterisk, it works on bytes: every byte it looks for is ASCII, and
//! what a name or value means as text is its reader's business.

use memchr::memchr;

use super::error::{ErrorKind, WarningKind};

/// Asterisk's limit on block comment nesting.
pub(crate) const MAX_NESTED_COMMENTS: usize = 128;

/// Asterisk reads lines into an 8192-byte buffer: a line of 8191 bytes or
/// more (without its newline) is skipped.
pub(crate) const DEFAULT_MAX_LINE_LEN: usize = 8190;

/// A kept piece of a line: raw byte offsets within the whole text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg {
    pub start: usize,
    pub end: usize,
}

/// One physical line after comments are taken out.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    /// The line number, from 1.
    pub number: u32,
    /// Where the line starts in the text.
    pub start: usize,
    /// Where the next line starts (after the `\n`).
    pub next: usize,
    /// The content, stripped; empty when there is none.
    pub content: &'a [u8],
    /// The line begins inside a block comment.
    pub starts_in_block: bool,
    /// The line ends inside a block comment.
    pub ends_in_block: bool,
    /// The line was skipped because it is too long.
    pub too_long: bool,
    /// A `--;` outside any block comment was read as a `;` comment.
    pub stray_end: bool,
    /// The kept pieces of the line, in raw offsets; the content is their
    /// concatenation with `lead` bytes stripped off the front (and some off
    /// the end).
    pub segs: &'a [Seg],
    /// Bytes stripped off the front of the joined pieces.
    pub lead: usize,
}

/// Splits a text into [`Line`]s. A lending iterator: each line borrows the
/// scanner until the next call.
pub(crate) struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    number: u32,
    depth: usize,
    open: Vec<u32>,
    max_line_len: usize,
    buf: Vec<u8>,
    segs: Vec<Seg>,
    /// Bytes trimmed off the front of the joined segments.
    lead: usize,
}

/// Is `b` what Asterisk strips (any byte below 33)?
#[inline]
pub(crate) fn is_blank(b: u8) -> bool {
    b < 33
}

/// Strips bytes below 33 at both ends, as Asterisk's `ast_strip` does.
#[inline]
pub(crate) fn strip(s: &[u8]) -> &[u8] {
    strip_end(strip_start(s))
}

/// Strips bytes below 33 at the start.
#[inline]
pub(crate) fn strip_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_blank(b)).count();
    &s[n..]
}

/// Strips bytes below 33 at the end.
#[inline]
pub(crate) fn strip_end(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|&&b| is_blank(b)).count();
    &s[..s.len() - n]
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a [u8], max_line_len: usize) -> Self {
        Scanner {
            text,
            pos: 0,
            number: 0,
            depth: 0,
            open: Vec::new(),
            max_line_len,
            buf: Vec::new(),
            segs: Vec::with_capacity(4),
            lead: 0,
        }
    }

    /// After the last line: the line of the innermost unclosed block
    /// comment, if any.
    pub(crate) fn unclosed(&self) -> Option<u32> {
        self.open.last().copied()
    }

    /// The next line, or `None` at the end of the text. An error carries the
    /// line number it belongs to.
    pub(crate) fn next_line(&mut self) -> Option<Result<Line<'_>, (u32, ErrorKind)>> {
        let text = self.text;
        if self.pos >= text.len() {
            return None;
        }
        self.number = self.number.saturating_add(1);
        let mut start = self.pos;
        let (end, next) = match memchr(b'\n', &text[start..]) {
            Some(i) => (start + i, start + i + 1),
            None => (text.len(), text.len()),
        };
        self.pos = next;
        let number = self.number;
        let starts_in_block = self.depth > 0;
        self.segs.clear();
        self.lead = 0;
        if end - start > self.max_line_len {
            return Some(Ok(Line {
                number,
                start,
                next,
                content: b"",
                starts_in_block,
                ends_in_block: starts_in_block,
                too_long: true,
                stray_end: false,
                segs: &[],
                lead: 0,
            }));
        }
        if number == 1 && text[start..end].starts_with(b"\xEF\xBB\xBF") {
            start += 3;
        }
        let line_start = start;
        let b = &text[..end];
        let mut stray_end = false;
        let mut seg_start = if self.depth == 0 { Some(start) } else { None };
        let mut pos = start;
        while let Some(off) = memchr(b';', &b[pos..]) {
            let p = pos + off;
            let at = |i: usize| b.get(i).copied().unwrap_or(0);
            if p > pos && b[p - 1] == b'\\' {
                // `\;`: the backslash goes, the semicolon stays.
                if self.depth == 0 {
                    if let Some(s) = seg_start {
                        self.segs.push(Seg {
                            start: s,
                            end: p - 1,
                        });
                        seg_start = Some(p);
                    }
                }
                pos = p + 1;
            } else if at(p + 1) == b'-' && at(p + 2) == b'-' && at(p + 3) != b'-' {
                if self.depth >= MAX_NESTED_COMMENTS {
                    return Some(Err((
                        number,
                        ErrorKind::CommentsTooDeep {
                            limit: MAX_NESTED_COMMENTS,
                        },
                    )));
                }
                if self.depth == 0 {
                    if let Some(s) = seg_start.take() {
                        self.segs.push(Seg { start: s, end: p });
                    }
                }
                self.depth += 1;
                self.open.push(number);
                pos = p + 3;
            } else if self.depth > 0 && p >= pos + 2 && b[p - 1] == b'-' && b[p - 2] == b'-' {
                self.depth -= 1;
                self.open.pop();
                pos = p + 1;
                if self.depth == 0 {
                    seg_start = Some(pos);
                }
            } else if self.depth == 0 {
                if p >= pos + 2 && b[p - 1] == b'-' && b[p - 2] == b'-' {
                    stray_end = true;
                }
                if let Some(s) = seg_start.take() {
                    self.segs.push(Seg { start: s, end: p });
                }
                break;
            } else {
                pos = p + 1;
            }
        }
        if let Some(s) = seg_start {
            self.segs.push(Seg { start: s, end });
        }
        let ends_in_block = self.depth > 0;
        let text = self.text;
        let joined: &[u8] = match self.segs.as_slice() {
            [] => b"",
            [one] => &text[one.start..one.end],
            many => {
                self.buf.clear();
                for s in many {
                    self.buf.extend_from_slice(&text[s.start..s.end]);
                }
                &self.buf
            }
        };
        let content = strip(joined);
        self.lead = joined.len() - strip_start(joined).len();
        Some(Ok(Line {
            number,
            start: line_start,
            next,
            content,
            starts_in_block,
            ends_in_block,
            too_long: false,
            stray_end,
            segs: &self.segs,
            lead: self.lead,
        }))
    }
}

/// One statement: what a non-empty content line says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stmt<'a> {
    /// `[name]` or `[name](options)`.
    Header(Header<'a>),
    /// `#name argument`.
    Directive {
        /// The directive's name, as written (`include`, `TryInclude`, …).
        name: &'a [u8],
        /// The argument, stripped and unquoted; `None` when missing.
        arg: Option<&'a [u8]>,
    },
    /// `name = value`, `name => value`, `name += value`.
    Var(VarStmt<'a>),
    /// A line Asterisk ignores with a warning.
    Ignored(WarningKind),
}

/// A category header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    /// Everything between `[` and the first `]`, as is.
    pub name: &'a [u8],
    /// Everything between `(` and the first `)` after it, when `(` follows
    /// the `]` directly.
    pub options: Option<&'a [u8]>,
}

/// One item of a header's options.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderOption<'a> {
    /// `!`: a template.
    Template,
    /// `+` (with an optional filter after it): add to an earlier category.
    Append(&'a [u8]),
    /// A template (or category) to inherit from.
    Inherit(&'a [u8]),
    /// An empty item.
    Empty,
}

impl<'a> Header<'a> {
    /// The options, in order.
    pub(crate) fn options(&self) -> impl Iterator<Item = HeaderOption<'a>> {
        self.options
            .into_iter()
            .flat_map(|o| o.split(|&b| b == b','))
            .map(|item| {
                if item == b"!" {
                    HeaderOption::Template
                } else if let Some(filter) = item.strip_prefix(b"+") {
                    HeaderOption::Append(filter)
                } else if item.is_empty() {
                    HeaderOption::Empty
                } else {
                    HeaderOption::Inherit(item)
                }
            })
    }
}

/// A variable line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct VarStmt<'a> {
    /// The name, stripped (without a leading `\`).
    pub name: &'a [u8],
    /// The value, stripped (for `+=`, the text after `=` as is).
    pub value: &'a [u8],
    /// Written `=>`.
    pub object: bool,
    /// Written `+=`.
    pub append: bool,
}

/// Classifies a non-empty, stripped content line.
pub(crate) fn classify(content: &[u8]) -> Result<Stmt<'_>, ErrorKind> {
    match content.first() {
        Some(b'[') => {
            let close = memchr(b']', content).ok_or(ErrorKind::MissingBracket)?;
            let name = &content[1..close];
            let rest = &content[close + 1..];
            let options = match rest.strip_prefix(b"(") {
                Some(inner) => {
                    let end = memchr(b')', inner).ok_or(ErrorKind::MissingParen)?;
                    Some(&inner[..end])
                }
                None => None,
            };
            Ok(Stmt::Header(Header { name, options }))
        }
        Some(b'#') => {
            let rest = &content[1..];
            let name_end = rest.iter().position(|&b| is_blank(b)).unwrap_or(rest.len());
            let name = &rest[..name_end];
            let arg: &[u8] = if name_end < rest.len() {
                strip(&rest[name_end + 1..])
            } else {
                b""
            };
            let arg = if arg.is_empty() {
                None
            } else {
                Some(dequote(arg))
            };
            Ok(Stmt::Directive { name, arg })
        }
        _ => {
            let (cur, escaped) = match content.strip_prefix(b"\\") {
                Some(after) => {
                    if after.first().is_none_or(|&b| is_blank(b)) {
                        return Err(ErrorKind::InvalidEscape);
                    }
                    (after, true)
                }
                None => (content, false),
            };
            let from = usize::from(escaped);
            let Some(eq) = memchr(b'=', &cur[from..]).map(|i| i + from) else {
                return Ok(Stmt::Ignored(WarningKind::NoEquals));
            };
            if eq > from && cur[eq - 1] == b'+' {
                let name = strip(&cur[..eq - 1]);
                if name.is_empty() {
                    return Ok(Stmt::Ignored(WarningKind::EmptyName));
                }
                return Ok(Stmt::Var(VarStmt {
                    name,
                    value: &cur[eq + 1..],
                    object: false,
                    append: true,
                }));
            }
            let name = strip(&cur[..eq]);
            let (value, object) = match cur[eq + 1..].strip_prefix(b">") {
                Some(v) => (v, true),
                None => (&cur[eq + 1..], false),
            };
            if name.is_empty() {
                return Ok(Stmt::Ignored(WarningKind::EmptyName));
            }
            Ok(Stmt::Var(VarStmt {
                name,
                value: strip(value),
                object,
                append: false,
            }))
        }
    }
}

/// Takes off one pair of `"…"` or `<…>` around a directive's argument.
fn dequote(arg: &[u8]) -> &[u8] {
    let close = match arg.first() {
        Some(b'"') => b'"',
        Some(b'<') => b'>',
        _ => return arg,
    };
    if arg.last() == Some(&close) {
        if arg.len() == 1 {
            b""
        } else {
            &arg[1..arg.len() - 1]
        }
    } else {
        arg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(text: &str) -> Vec<String> {
        let mut s = Scanner::new(text.as_bytes(), DEFAULT_MAX_LINE_LEN);
        let mut out = Vec::new();
        while let Some(l) = s.next_line() {
            out.push(String::from_utf8_lossy(l.unwrap().content).into_owned());
        }
        out
    }

    #[test]
    fn comments_and_escapes() {
        assert_eq!(contents("a = b ; c\n"), ["a = b"]);
        assert_eq!(contents("a = b\\;c ; d"), ["a = b;c"]);
        assert_eq!(contents("a;-- x --;b"), ["ab"]);
        assert_eq!(contents("a ;-- x\ny\n--; b\n"), ["a", "", "b"]);
        assert_eq!(contents(";---- line\nx=1"), ["", "x=1"]);
        assert_eq!(contents(";-- ;-- --; still --; out"), ["out"]);
        assert_eq!(contents("\u{feff}[a]\r\n"), ["[a]"]);
        assert_eq!(contents("a=1 --; c"), ["a=1 --"]);
    }

    #[test]
    fn statements() {
        assert!(matches!(
            classify(b"[a](!)"),
            Ok(Stmt::Header(Header {
                name: b"a",
                options: Some(b"!")
            }))
        ));
        assert_eq!(classify(b"[a"), Err(ErrorKind::MissingBracket));
        assert_eq!(classify(b"[a](x"), Err(ErrorKind::MissingParen));
        assert_eq!(
            classify(b"exten => 1,1,Noop(a=b)"),
            Ok(Stmt::Var(VarStmt {
                name: b"exten",
                value: b"1,1,Noop(a=b)",
                object: true,
                append: false
            }))
        );
        assert_eq!(
            classify(b"\\=a = b"),
            Ok(Stmt::Var(VarStmt {
                name: b"=a",
                value: b"b",
                object: false,
                append: false
            }))
        );
        assert_eq!(classify(b"\\ x"), Err(ErrorKind::InvalidEscape));
        assert_eq!(
            classify(b"#include \"x.conf\""),
            Ok(Stmt::Directive {
                name: b"include",
                arg: Some(&b"x.conf"[..])
            })
        );
        assert_eq!(
            classify(b"#include"),
            Ok(Stmt::Directive {
                name: b"include",
                arg: None
            })
        );
        assert_eq!(classify(b"junk"), Ok(Stmt::Ignored(WarningKind::NoEquals)));
        assert_eq!(classify(b"= v"), Ok(Stmt::Ignored(WarningKind::EmptyName)));
    }
}
