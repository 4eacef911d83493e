//! AGI replies: every form `res_agi.c` sends, parsed without I/O.

use std::ops::Range;

use super::env::strip_eol;
use super::limits::Limits;
use super::lines::{decode_lines, LineParser};
use crate::agi::error::{excerpt, AgiError};

/// A `200 result=…` reply (or the `100 result=0 Trying...` line), split
/// into its parts. One string holds the line; the parts are views into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    code: u16,
    line: String,
    lossy: bool,
    result: Range<usize>,
    data: Option<Range<usize>>,
    endpos: Option<i64>,
    extra: Range<usize>,
}

impl Response {
    /// Parses one `CODE result=VALUE [(data)] [endpos=N] [more]` line
    /// (without its `\n`).
    pub fn parse(line: &[u8]) -> Result<Response, AgiError> {
        let (line, lossy) = match std::str::from_utf8(line) {
            Ok(s) => (s.to_owned(), false),
            Err(_) => (String::from_utf8_lossy(line).into_owned(), true),
        };
        let malformed = |reason| AgiError::MalformedReply {
            reason,
            line: excerpt(line.as_bytes()),
        };
        let b = line.as_bytes();
        if b.len() < 4 || !b[..3].iter().all(u8::is_ascii_digit) || b[3] != b' ' {
            return Err(malformed("expected a status code"));
        }
        let code =
            u16::from(b[0] - b'0') * 100 + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0');
        let rest = &line[4..];
        let Some(after) = rest.strip_prefix("result=") else {
            return Err(malformed("expected `result=`"));
        };
        let start = 4 + "result=".len();
        let val_len = after.find(' ').unwrap_or(after.len());
        let result = start..start + val_len;
        let mut pos = result.end;
        if pos < line.len() {
            pos += 1; // the space
        }
        let mut data = None;
        if line.as_bytes().get(pos) == Some(&b'(') {
            // The data runs to the last `)` after which only `key=value`
            // tokens (or nothing) follow: data may itself hold parentheses.
            let tail = &line[pos..];
            let mut found = None;
            for (i, _) in tail.match_indices(')').rev() {
                let after = &tail[i + 1..];
                if after.is_empty() || (after.starts_with(' ') && looks_like_fields(&after[1..])) {
                    found = Some(i);
                    break;
                }
            }
            if let Some(i) = found {
                data = Some(pos + 1..pos + i);
                pos = (pos + i + 2).min(line.len());
            }
        }
        let extra_start = pos.min(line.len());
        let extra = extra_start..line.len();
        let endpos = field_in(&line[extra.clone()], "endpos").and_then(|v| v.parse().ok());
        Ok(Response {
            code,
            line,
            lossy,
            result,
            data,
            endpos,
            extra,
        })
    }

    /// The status code (200, or 100 for `Trying`).
    pub fn code(&self) -> u16 {
        self.code
    }
    /// The raw `result=` value (usually a number; digits for GET DATA; may
    /// be empty).
    pub fn result(&self) -> &str {
        &self.line[self.result.clone()]
    }
    /// `result=` as an integer, if it is one.
    pub fn result_int(&self) -> Option<i64> {
        self.result().parse().ok()
    }
    /// The text in parentheses after the result, if any.
    pub fn data(&self) -> Option<&str> {
        self.data.clone().map(|r| &self.line[r])
    }
    /// `endpos=`, if present.
    pub fn endpos(&self) -> Option<i64> {
        self.endpos
    }
    /// Everything after the result and data (e.g. `endpos=0`,
    /// `Gosub complete`, `digit=1 endpos=0`).
    pub fn extra(&self) -> &str {
        &self.line[self.extra.clone()]
    }
    /// The value of `key=value` in [`Response::extra`] (a value in double
    /// quotes is returned without them).
    pub fn field(&self, key: &str) -> Option<&str> {
        field_in(self.extra(), key)
    }
    /// The whole line.
    pub fn line(&self) -> &str {
        &self.line
    }
    /// True when the line was not valid UTF-8 (and is held lossily).
    pub fn is_lossy(&self) -> bool {
        self.lossy
    }
}

/// True when `s` is a run of `key=value` tokens (values may be quoted).
fn looks_like_fields(s: &str) -> bool {
    let mut rest = s;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            return false;
        };
        let key = &rest[..eq];
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return false;
        }
        rest = &rest[eq + 1..];
        rest = if let Some(q) = rest.strip_prefix('"') {
            match q.find('"') {
                Some(e) => &q[e + 1..],
                None => return false,
            }
        } else {
            &rest[rest.find(' ').unwrap_or(rest.len())..]
        };
        rest = rest.strip_prefix(' ').unwrap_or(rest);
    }
    true
}

/// Finds `key=value` among space-separated tokens.
fn field_in<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = s;
    while !rest.is_empty() {
        rest = rest.trim_start_matches(' ');
        let tok_key_end = rest.find(['=', ' ']).unwrap_or(rest.len());
        let k = &rest[..tok_key_end];
        if rest[tok_key_end..].starts_with('=') {
            let v = &rest[tok_key_end + 1..];
            let (value, next) = if let Some(q) = v.strip_prefix('"') {
                match q.find('"') {
                    Some(e) => (&q[..e], &q[e + 1..]),
                    None => (q, ""),
                }
            } else {
                let e = v.find(' ').unwrap_or(v.len());
                (&v[..e], &v[e..])
            };
            if k == key {
                return Some(value);
            }
            rest = next;
        } else {
            rest = &rest[tok_key_end..];
        }
    }
    None
}

/// A complete reply to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// `200 result=…`.
    Success(Response),
    /// `510 Invalid or unknown command`.
    InvalidCommand,
    /// `511 Command Not Permitted on a dead channel or intercept routine`.
    DeadChannel,
    /// `520`: the usage text (multi-line form), or the text of the single
    /// `520 …` line.
    Usage(String),
    /// Any other status code (e.g. `503 result=-2 Memory allocation failure`).
    Other {
        /// The status code.
        code: u16,
        /// The whole line.
        line: String,
    },
}

impl Reply {
    /// The `200` response, or the error the other replies mean:
    /// [`AgiError::InvalidCommand`], [`AgiError::DeadChannel`],
    /// [`AgiError::Usage`], [`AgiError::Unknown`].
    pub fn into_response(self) -> Result<Response, AgiError> {
        match self {
            Reply::Success(r) => Ok(r),
            Reply::InvalidCommand => Err(AgiError::InvalidCommand),
            Reply::DeadChannel => Err(AgiError::DeadChannel),
            Reply::Usage(usage) => Err(AgiError::Usage { usage }),
            Reply::Other { code, line } => Err(AgiError::Unknown { code, line }),
        }
    }
}

/// What one or more reply lines amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyEvent {
    /// The unsolicited `HANGUP` line: the channel hung up. The reply to the
    /// pending command still follows.
    Hangup,
    /// `100 result=0 Trying...`: an intermediate line (GOSUB); the final
    /// reply follows.
    Trying(Response),
    /// The final reply to the pending command.
    Reply(Reply),
}

/// Reads replies line by line (sans-IO); keeps the state of a multi-line
/// `520-` usage block between lines.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    limits: Limits,
    usage: Option<Vec<String>>,
}

impl ReplyParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> ReplyParser {
        ReplyParser {
            limits,
            usage: None,
        }
    }

    /// True while inside a `520-` block.
    pub fn in_usage_block(&self) -> bool {
        self.usage.is_some()
    }

    /// Takes one line (with or without its `\n`). Answers `Ok(None)` while
    /// a usage block goes on, the event otherwise, or an error for a line
    /// that is no AGI reply or past a limit.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Option<ReplyEvent>, AgiError> {
        let line = strip_eol(line);
        LineParser::check_partial(self, line.len())?;
        if let Some(usage) = &mut self.usage {
            // The end marker on its own line, or glued to the end of the
            // last usage line (`…or 0 if successful.520 End of proper
            // usage.`, when a usage text lacks its final newline).
            let own_line = line.starts_with(b"520 ") || line == b"520";
            if !own_line {
                if usage.len() >= self.limits.max_usage_lines {
                    self.usage = None;
                    return Err(AgiError::LimitExceeded {
                        what: "usage block",
                        limit: self.limits.max_usage_lines,
                    });
                }
                let glued = strip_glued_end(line);
                usage.push(String::from_utf8_lossy(glued.unwrap_or(line)).into_owned());
                if glued.is_none() {
                    return Ok(None);
                }
            }
            let text = usage.join("\n");
            self.usage = None;
            return Ok(Some(ReplyEvent::Reply(Reply::Usage(text))));
        }
        if line == b"HANGUP" {
            return Ok(Some(ReplyEvent::Hangup));
        }
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return Err(AgiError::MalformedReply {
                reason: "not an AGI reply",
                line: excerpt(line),
            });
        }
        let sep = line.get(3).copied();
        if line.starts_with(b"520-") {
            self.usage = Some(Vec::new());
            return Ok(None);
        }
        if sep.is_some() && sep != Some(b' ') {
            return Err(AgiError::MalformedReply {
                reason: "not an AGI reply",
                line: excerpt(line),
            });
        }
        let event = match &line[..3] {
            b"200" => ReplyEvent::Reply(Reply::Success(Response::parse(line)?)),
            b"100" => match Response::parse(line) {
                Ok(r) => ReplyEvent::Trying(r),
                Err(_) => ReplyEvent::Trying(Response::parse(b"100 result=0")?),
            },
            b"510" => ReplyEvent::Reply(Reply::InvalidCommand),
            b"511" => ReplyEvent::Reply(Reply::DeadChannel),
            b"520" => ReplyEvent::Reply(Reply::Usage(
                String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned(),
            )),
            code => {
                let code = u16::from(code[0] - b'0') * 100
                    + u16::from(code[1] - b'0') * 10
                    + u16::from(code[2] - b'0');
                ReplyEvent::Reply(Reply::Other {
                    code,
                    line: String::from_utf8_lossy(line).into_owned(),
                })
            }
        };
        Ok(Some(event))
    }
}

/// The end marker of a usage block, as `res_agi.c` writes it.
const USAGE_END: &[u8] = b"520 End of proper usage";

/// The text before an end marker glued to the end of a usage line
/// (`…or 0 if successful.520 End of proper usage.`, when the usage text
/// lacks its final newline), or `None` when the line does not end so.
fn strip_glued_end(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b".").unwrap_or(line);
    line.strip_suffix(USAGE_END)
        .filter(|before| !before.is_empty())
}

impl LineParser for ReplyParser {
    type Output = ReplyEvent;
    fn push_line(&mut self, line: &[u8]) -> Result<Option<ReplyEvent>, AgiError> {
        ReplyParser::push_line(self, line)
    }
    /// [`Limits::max_line_len`], as [`ReplyParser::push_line`] checks a
    /// whole line; past it, a usage block is abandoned.
    fn check_partial(&mut self, pending: usize) -> Result<(), AgiError> {
        if pending > self.limits.max_line_len {
            self.usage = None;
            return Err(AgiError::LimitExceeded {
                what: "reply line",
                limit: self.limits.max_line_len,
            });
        }
        Ok(())
    }
}

/// Decodes the next reply event from the start of `buf`.
///
/// Answers `Ok(Some((event, used)))` with the bytes taken, `Ok(None)` when
/// `buf` does not yet hold a whole event ("need more"), or an error.
/// A `HANGUP` line glued before a reply comes out as its own event first.
pub fn decode_reply(buf: &[u8], limits: &Limits) -> Result<Option<(ReplyEvent, usize)>, AgiError> {
    decode_lines(&mut ReplyParser::new(*limits), buf)
}

/// Parses one whole reply given as text, e.g. AsyncAGI's percent-decoded
/// `Result:` header: skips `HANGUP` and `100 Trying` lines and answers the
/// final [`Reply`]. A missing final line newline is tolerated.
pub fn parse_reply_text(text: &str, limits: &Limits) -> Result<Reply, AgiError> {
    let mut parser = ReplyParser::new(*limits);
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']).is_empty() && !parser.in_usage_block() {
            continue;
        }
        if let Some(ReplyEvent::Reply(reply)) = parser.push_line(line.as_bytes())? {
            return Ok(reply);
        }
    }
    Err(AgiError::MalformedReply {
        reason: "incomplete reply",
        line: excerpt(text.as_bytes()),
    })
}
