//! Glob expansion for `#include` patterns, as glibc's `glob(3)` does it
//! with the flags Asterisk passes (`GLOB_NOMAGIC | GLOB_BRACE`):
//!
//! - `{a,b}` alternatives (nested, escaped with `\`) expand first; each
//!   alternative is globbed on its own and its matches sorted, in order;
//! - a pattern without `*`, `?` or a `[…]` set names itself, whether the
//!   file exists or not;
//! - `*` and `?` never match `/`, nor a leading `.` of a name;
//! - `[abc]`, `[a-z]`, `[!x]`/`[^x]` and classes such as `[[:digit:]]`;
//!   `\` quotes the next character.
//!
//! The file system is reached only through a listing callback.

use std::path::{Path, PathBuf};

/// Most alternatives one pattern may expand to; past it the braces are
/// taken literally.
const MAX_ALTERNATIVES: usize = 1024;

/// One name in a directory listing: the name and whether it is a directory.
pub(crate) type Listing = Vec<(String, bool)>;

/// Expands `pattern` (relative to `base` unless absolute) into paths, in
/// glibc's order. `list` lists a directory (an empty list when it cannot).
pub(crate) fn expand(
    base: &Path,
    pattern: &str,
    list: &mut dyn FnMut(&Path) -> Listing,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for alt in expand_braces(pattern) {
        if !has_magic(&alt) {
            out.push(base.join(unescape(&alt)));
            continue;
        }
        let (mut current, rest) = match alt.strip_prefix('/') {
            Some(rest) => (vec![PathBuf::from("/")], rest),
            None => (vec![base.to_path_buf()], alt.as_str()),
        };
        let comps: Vec<&str> = rest.split('/').filter(|c| !c.is_empty()).collect();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let mut next = Vec::new();
            if has_magic(comp) {
                for dir in &current {
                    let mut names = list(dir);
                    names.sort();
                    for (name, is_dir) in names {
                        if (last || is_dir) && matches(comp, &name) {
                            next.push(dir.join(name));
                        }
                    }
                }
            } else {
                let lit = unescape(comp);
                next.extend(current.iter().map(|d| d.join(&lit)));
            }
            current = next;
            if current.is_empty() {
                break;
            }
        }
        current.sort();
        out.extend(current);
    }
    out
}

/// Does the pattern hold `*`, `?`, or a `[` with a `]` after it (not
/// quoted by `\`)?
pub(crate) fn has_magic(pattern: &str) -> bool {
    let mut open = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' => return true,
            '[' => open = true,
            ']' if open => return true,
            _ => {}
        }
    }
    false
}

/// Removes the `\` quoting.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Expands `{a,b}` alternatives; unbalanced braces are literal.
pub(crate) fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !expand_into(pattern, &mut out) || out.len() > MAX_ALTERNATIVES {
        return vec![pattern.to_string()];
    }
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) -> bool {
    if out.len() > MAX_ALTERNATIVES {
        return false;
    }
    let b = pattern.as_bytes();
    // The first unquoted `{` that has a matching `}`.
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => {
                if let Some((close, commas)) = matching_brace(b, i) {
                    let prefix = &pattern[..i];
                    let suffix = &pattern[close + 1..];
                    let mut from = i + 1;
                    for &c in commas.iter().chain(std::iter::once(&close)) {
                        let alt = format!("{prefix}{}{suffix}", &pattern[from..c]);
                        if !expand_into(&alt, out) {
                            return false;
                        }
                        from = c + 1;
                    }
                    return true;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push(pattern.to_string());
    true
}

/// The `}` closing the `{` at `open`, and the top-level commas between.
fn matching_brace(b: &[u8], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' if depth == 0 => return Some((i, commas)),
            b'}' => depth -= 1,
            b',' if depth == 0 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Does `name` (one path component) match `pattern`? A leading `.` must be
/// matched by a literal `.`.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if n.first() == Some(&'.') {
        let lit = match p.first() {
            Some('.') => true,
            Some('\\') => p.get(1) == Some(&'.'),
            _ => false,
        };
        if !lit {
            return false;
        }
    }
    let (mut pi, mut ni) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, name index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                '?' if ni < n.len() => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' if ni < n.len() => match bracket(&p, pi, n[ni]) {
                    Some((true, next)) => {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                    Some((false, _)) => {}
                    None => {
                        if n[ni] == '[' {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
                },
                '\\' if ni < n.len() => {
                    let lit = p.get(pi + 1).copied().unwrap_or('\\');
                    if lit == n[ni] {
                        pi += if pi + 1 < p.len() { 2 } else { 1 };
                        ni += 1;
                        continue;
                    }
                }
                c if ni < n.len() && c != '?' && c != '[' && c != '\\' && c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        } else if ni == n.len() {
            return true;
        }
        // Mismatch: let the last `*` take one more character.
        match star {
            Some((sp, sn)) if sn < n.len() => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            _ => return false,
        }
    }
}

/// Matches `c` against the set starting at `p[open] == '['`: `Some((hit,
/// index after the set))`, or `None` when the set is not closed.
fn bracket(p: &[char], open: usize, c: char) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if ch == '[' && p.get(i + 1) == Some(&':') {
            let rest: String = p[i + 2..].iter().collect();
            if let Some(end) = rest.find(":]") {
                let class = &rest[..end];
                hit |= class_matches(class, c);
                i += 2 + class.chars().count() + 2;
                continue;
            }
        }
        let (lo, next) = if ch == '\\' {
            (*p.get(i + 1)?, i + 2)
        } else {
            (ch, i + 1)
        };
        if p.get(next) == Some(&'-') && p.get(next + 1).is_some_and(|&e| e != ']') {
            let (hi, after) = if p[next + 1] == '\\' {
                (*p.get(next + 2)?, next + 3)
            } else {
                (p[next + 1], next + 2)
            };
            hit |= lo <= c && c <= hi;
            i = after;
        } else {
            hit |= c == lo;
            i = next;
        }
    }
}

fn class_matches(class: &str, c: char) -> bool {
    match class {
        "alpha" => c.is_ascii_alphabetic(),
        "digit" => c.is_ascii_digit(),
        "alnum" => c.is_ascii_alphanumeric(),
        "upper" => c.is_ascii_uppercase(),
        "lower" => c.is_ascii_lowercase(),
        "space" => c.is_ascii_whitespace() || c == '\x0b',
        "blank" => c == ' ' || c == '\t',
        "punct" => c.is_ascii_punctuation(),
        "xdigit" => c.is_ascii_hexdigit(),
        "cntrl" => c.is_ascii_control(),
        "print" => c.is_ascii_graphic() || c == ' ',
        "graph" => c.is_ascii_graphic(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch() {
        assert!(matches("*.conf", "a.conf"));
        assert!(!matches("*.conf", ".hidden.conf"));
        assert!(matches(".*.conf", ".hidden.conf"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[!a-c]x", "bx"));
        assert!(matches("[^a-c]x", "dx"));
        assert!(matches("[]]", "]"));
        assert!(matches("[[:digit:]][[:digit:]]*", "10-x.conf"));
        assert!(matches("\\*", "*"));
        assert!(!matches("\\*", "a"));
        assert!(matches("[x", "[x"));
        assert!(matches("*a*b*c", "xxaxxbxxbc"));
        assert!(matches("*", ""));
        assert!(!matches("?", ""));
    }

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(expand_braces("{x,y{1,2}}"), ["x", "y1", "y2"]);
        assert_eq!(expand_braces("a{b"), ["a{b"]);
        assert_eq!(expand_braces("a\\{b,c}"), ["a\\{b,c}"]);
        assert!(has_magic("a*"));
        assert!(has_magic("[ab]"));
        assert!(!has_magic("[ab"));
        assert!(!has_magic("a\\*"));
    }
}
