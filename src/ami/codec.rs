//! The sans-IO AMI codec: bytes in, [`Frame`]s out; [`Message`]s in, bytes out.
//!
//! No sockets, threads or clocks live here. The [`Decoder`] owns a buffer:
//! [`Decoder::feed`] appends whatever bytes arrived, [`Decoder::decode`]
//! answers `Ok(Some(frame))`, `Ok(None)` when it needs more bytes (never an
//! error), or a [`DecodeError`] for input it refuses. After an error the
//! decoder skips to the end of the offending message and goes on with the
//! next one, so one bad message never costs the stream.
//!
//! ```
//! use astrix::ami::codec::{Decoder, Frame};
//!
//! let mut d = Decoder::new();
//! d.feed(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nPing: Pong\r\n");
//! assert!(matches!(d.decode(), Ok(Some(Frame::Banner(v))) if v == "11.0.0"));
//! assert!(matches!(d.decode(), Ok(None))); // the blank line has not arrived
//! d.feed(b"\r\n");
//! let Ok(Some(Frame::Message(m))) = d.decode() else { panic!() };
//! assert_eq!(m.get("ping"), Some("Pong"));
//! ```

use memchr::{memchr, memmem};

use super::message::{Message, Span};
use crate::util::excerpt;

/// The prefix of the line Asterisk sends when a client connects.
pub const BANNER_PREFIX: &str = "Asterisk Call Manager/";

/// Bounds the decoder enforces. Every one is configurable; the defaults
/// leave room for large `GetConfig`/`ListCommands` replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, in bytes, without its line ending.
    pub max_line_len: usize,
    /// Largest message, in bytes of its lines (a line without a colon,
    /// kept until the message ends, counts with its line ending).
    pub max_message_len: usize,
    /// Most headers (or output lines) in one message.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 64 * 1024,
            max_message_len: 4 * 1024 * 1024,
            max_headers: 16 * 1024,
        }
    }
}

/// What the decoder produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The greeting line; holds the AMI version after `Asterisk Call Manager/`.
    Banner(String),
    /// One message (response, event, or anything else with headers).
    Message(Message),
}

/// Input the decoder refuses. Each variant that can carry the headers read
/// so far does, so that an `ActionID` is never lost.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The first line was not `Asterisk Call Manager/…`.
    #[error("not an AMI banner: {line:?}")]
    BadBanner {
        /// The line received instead (lossily decoded, cut to 200 bytes).
        line: String,
    },
    /// A line exceeded [`Limits::max_line_len`].
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit in force.
        limit: usize,
        /// The headers read before the long line.
        partial: Message,
    },
    /// A message exceeded [`Limits::max_message_len`].
    #[error("message larger than {limit} bytes")]
    MessageTooLarge {
        /// The limit in force.
        limit: usize,
        /// The headers read before the limit was reached.
        partial: Message,
    },
    /// A message had more than [`Limits::max_headers`] headers.
    #[error("message with more than {limit} headers")]
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
        /// The headers read before the limit was reached.
        partial: Message,
    },
    /// The stream ended in the middle of a message (see [`Decoder::finish`]).
    #[error("stream ended inside a message ({bytes} bytes unfinished)")]
    Truncated {
        /// Bytes of the unfinished message.
        bytes: usize,
        /// Its complete header lines.
        partial: Message,
    },
    /// A header line had no `:`. The rest of the message is kept.
    #[error("header line without a colon: {line:?}")]
    MissingColon {
        /// The offending line (lossily decoded, cut to 200 bytes).
        line: String,
        /// Every well-formed header of the message.
        partial: Message,
    },
}

impl DecodeError {
    /// The headers of the refused message that could be read, if any.
    pub fn partial(&self) -> Option<&Message> {
        match self {
            DecodeError::BadBanner { .. } => None,
            DecodeError::LineTooLong { partial, .. }
            | DecodeError::MessageTooLarge { partial, .. }
            | DecodeError::TooManyHeaders { partial, .. }
            | DecodeError::Truncated { partial, .. }
            | DecodeError::MissingColon { partial, .. } => Some(partial),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Banner,
    Headers,
    /// Legacy `Response: Follows` command output, up to `--END COMMAND--`.
    Follows,
    /// Discarding the rest of a refused message up to its blank line.
    Skipping,
}

/// One line of the message being read, relative to the message start.
#[derive(Clone, Copy, Debug)]
struct Line {
    start: u32,
    end: u32,
    /// Where the `:` is; `None` for raw output lines (legacy Command output).
    colon: Option<u32>,
}

/// Incremental AMI decoder.
///
/// Feed it bytes as they arrive; take frames out until it answers `Ok(None)`.
/// Splitting the input anywhere gives the same frames. CRLF is the line
/// ending; a bare LF is accepted too.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Start of the message being read (everything before is consumed).
    start: usize,
    /// Start of the next line to look at.
    line_start: usize,
    state: State,
    lines: Vec<Line>,
    message_len: usize,
    /// The first line without a colon in the current message, if any.
    bad_line: Option<String>,
    /// A legacy command output ended; swallow the blank line after it.
    after_follows: bool,
    /// Skipping the tail of an over-long line: its end is no blank line.
    in_long_line: bool,
    limits: Limits,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder that expects the banner first, with default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A decoder that expects the banner first, with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
            line_start: 0,
            state: State::Banner,
            lines: Vec::with_capacity(32),
            message_len: 0,
            bad_line: None,
            after_follows: false,
            in_long_line: false,
            limits,
        }
    }

    /// A decoder for a stream without a banner (what a server reads from a
    /// client, or a replay of messages only).
    pub fn without_banner(limits: Limits) -> Self {
        let mut d = Self::with_limits(limits);
        d.state = State::Headers;
        d
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends bytes received from the peer.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Tells the decoder the stream has ended. Returns
    /// [`DecodeError::Truncated`] when a message was left unfinished, so
    /// that it is reported rather than lost; the buffer is emptied.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        let bytes = self.buf.len() - self.start;
        let unfinished = bytes > 0 && self.state != State::Skipping && !self.after_follows;
        let partial = self.partial_message();
        self.buf.clear();
        self.start = 0;
        self.line_start = 0;
        self.lines.clear();
        self.message_len = 0;
        self.bad_line = None;
        if self.state != State::Banner {
            self.state = State::Headers;
        }
        // Only blank lines left: nothing was cut.
        if !unfinished || (partial.is_empty() && bytes <= 2) {
            return Ok(());
        }
        Err(DecodeError::Truncated { bytes, partial })
    }

    /// Drops consumed bytes from the front of the buffer.
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.buf.len() {
            self.buf.clear();
        } else if self.start >= 32 * 1024 || self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
        } else {
            return;
        }
        self.line_start -= self.start;
        self.start = 0;
    }

    /// Takes the next frame out of the buffered bytes.
    ///
    /// `Ok(None)` means more bytes are needed. An error refuses one message
    /// (or the banner); call `decode` again to go on with the next one.
    pub fn decode(&mut self) -> Result<Option<Frame>, DecodeError> {
        loop {
            if self.state == State::Headers && self.scan_headers() {
                return self.complete();
            }
            let Some(nl) = memchr(b'\n', &self.buf[self.line_start..]) else {
                return self.check_partial_line();
            };
            let line_end_lf = self.line_start + nl;
            let mut end = line_end_lf;
            if end > self.line_start && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            let begin = self.line_start;
            self.line_start = line_end_lf + 1;
            if end - begin > self.limits.max_line_len && self.state != State::Skipping {
                let partial = self.partial_message();
                return Err(self.refuse(|limit| DecodeError::LineTooLong { limit, partial }, 0));
            }
            match self.state {
                State::Banner => {
                    let line = &self.buf[begin..end];
                    self.start = self.line_start;
                    if line.is_empty() {
                        continue;
                    }
                    self.state = State::Headers;
                    return match line.strip_prefix(BANNER_PREFIX.as_bytes()) {
                        Some(v) => Ok(Some(Frame::Banner(excerpt(v)))),
                        None => Err(DecodeError::BadBanner {
                            line: excerpt(line),
                        }),
                    };
                }
                State::Skipping => {
                    if std::mem::take(&mut self.in_long_line) {
                        self.start = self.line_start;
                    } else if begin == end {
                        self.reset_message();
                    }
                }
                State::Headers => {
                    if begin == end {
                        if self.after_follows || self.lines.is_empty() {
                            // Blank lines between messages carry nothing.
                            self.after_follows = false;
                            self.start = self.line_start;
                            continue;
                        }
                        return self.complete();
                    }
                    self.after_follows = false;
                    let Some(colon) = memchr(b':', &self.buf[begin..end]) else {
                        if self.bad_line.is_none() {
                            self.bad_line = Some(excerpt(&self.buf[begin..end]));
                        }
                        // The line stays buffered until the message ends:
                        // count it (with its line ending) against the size
                        // limit, or `x\n` repeated for ever grows the buffer
                        // without bound.
                        self.message_len += self.line_start - begin;
                        if self.message_len > self.limits.max_message_len {
                            let partial = self.partial_message();
                            return Err(self.refuse(
                                |limit| DecodeError::MessageTooLarge { limit, partial },
                                1,
                            ));
                        }
                        continue;
                    };
                    self.push_line(begin, end, Some(colon))?;
                    if self.lines.len() == 1 && self.is_follows(begin, end) {
                        self.state = State::Follows;
                    }
                }
                State::Follows => {
                    let line = &self.buf[begin..end];
                    if let Some(p) = memmem::find(line, b"--END COMMAND--") {
                        if p > 0 {
                            self.push_line(begin, begin + p, None)?;
                        }
                        self.after_follows = true;
                        return self.complete();
                    }
                    let in_headers = self.lines.iter().all(|l| l.colon.is_some());
                    let colon = memchr(b':', line);
                    let header = in_headers
                        && colon.is_some_and(|c| {
                            let name = &line[..c];
                            name.eq_ignore_ascii_case(b"ActionID")
                                || name.eq_ignore_ascii_case(b"Privilege")
                                || name.eq_ignore_ascii_case(b"Message")
                        });
                    self.push_line(begin, end, if header { colon } else { None })?;
                }
            }
        }
    }

    /// The hot path: takes ordinary header lines in a tight loop. Returns
    /// true when a blank line ended a message; stops without consuming at
    /// the first line that needs the general path (too long, no colon, a
    /// limit, `Response: Follows`, a blank line before any header).
    fn scan_headers(&mut self) -> bool {
        let base = self.line_start;
        let buf = &self.buf[..];
        let limits = self.limits;
        let mut pos = base;
        loop {
            let begin = pos;
            // Header lines are short: a word-at-a-time search beats a SIMD
            // search that has to set up for every 20-byte line.
            let Some(first) = find2(buf, begin, b':', b'\n') else {
                break;
            };
            let (colon, nl) = if buf[first] == b':' {
                match find2(buf, first + 1, b'\n', b'\n') {
                    Some(nl) => (Some(first - begin), nl),
                    None => break,
                }
            } else {
                (None, first)
            };
            let mut end = nl;
            if end > begin && buf[end - 1] == b'\r' {
                end -= 1;
            }
            let len = end - begin;
            if len == 0 {
                if self.lines.is_empty() || self.after_follows {
                    break;
                }
                self.line_start = nl + 1;
                return true;
            }
            if len > limits.max_line_len
                || self.message_len + len > limits.max_message_len
                || self.lines.len() >= limits.max_headers
                || self.bad_line.is_some()
            {
                break;
            }
            let Some(colon) = colon else {
                break;
            };
            if self.lines.is_empty()
                && buf[begin..begin + colon].eq_ignore_ascii_case(b"Response")
                && trim_value(&buf[begin + colon + 1..end]).eq_ignore_ascii_case(b"Follows")
            {
                break;
            }
            self.message_len += len;
            // A header after `--END COMMAND--` starts a message: the blank
            // line that ends it must not be swallowed as the one after the
            // command output (that reset `start` under the lines read).
            self.after_follows = false;
            self.lines.push(Line {
                start: (begin - self.start) as u32,
                end: (end - self.start) as u32,
                colon: Some((begin + colon - self.start) as u32),
            });
            pos = nl + 1;
        }
        self.line_start = pos;
        false
    }

    /// Called when no full line is buffered: refuses an over-long partial line.
    fn check_partial_line(&mut self) -> Result<Option<Frame>, DecodeError> {
        let pending = self.buf.len() - self.line_start;
        if pending > self.limits.max_line_len + 1 {
            self.in_long_line = true;
            if self.state == State::Skipping {
                // Keep discarding without growing the buffer.
                self.line_start = self.buf.len();
                self.start = self.line_start;
                return Ok(None);
            }
            let partial = self.partial_message();
            self.line_start = self.buf.len();
            return Err(self.refuse(|limit| DecodeError::LineTooLong { limit, partial }, 0));
        }
        if self.state == State::Skipping {
            self.start = self.line_start;
        }
        Ok(None)
    }

    fn is_follows(&self, begin: usize, end: usize) -> bool {
        let line = &self.buf[begin..end];
        match memchr(b':', line) {
            Some(c) => {
                line[..c].eq_ignore_ascii_case(b"Response")
                    && trim_value(&line[c + 1..]).eq_ignore_ascii_case(b"Follows")
            }
            None => false,
        }
    }

    fn push_line(
        &mut self,
        begin: usize,
        end: usize,
        colon: Option<usize>,
    ) -> Result<(), DecodeError> {
        self.message_len += end - begin;
        if self.message_len > self.limits.max_message_len {
            let partial = self.partial_message();
            return Err(self.refuse(|limit| DecodeError::MessageTooLarge { limit, partial }, 1));
        }
        if self.lines.len() >= self.limits.max_headers {
            let partial = self.partial_message();
            return Err(self.refuse(|limit| DecodeError::TooManyHeaders { limit, partial }, 2));
        }
        self.lines.push(Line {
            start: (begin - self.start) as u32,
            end: (end - self.start) as u32,
            colon: colon.map(|c| (begin + c - self.start) as u32),
        });
        Ok(())
    }

    /// Builds the error for a refused message and starts skipping it.
    fn refuse(&mut self, make: impl FnOnce(usize) -> DecodeError, which: u8) -> DecodeError {
        let limit = match which {
            0 => self.limits.max_line_len,
            1 => self.limits.max_message_len,
            _ => self.limits.max_headers,
        };
        let err = make(limit);
        // The refused line may have been the blank line's predecessor; if the
        // message already ended (line_start sits after a blank line) the
        // next decode starts fresh anyway.
        self.lines.clear();
        self.message_len = 0;
        self.bad_line = None;
        self.state = State::Skipping;
        self.start = self.line_start;
        err
    }

    fn reset_message(&mut self) {
        self.lines.clear();
        self.message_len = 0;
        self.bad_line = None;
        self.state = State::Headers;
        self.start = self.line_start;
    }

    /// The headers read so far in the current message.
    fn partial_message(&self) -> Message {
        if let Some(m) = self.fast_message() {
            return m;
        }
        let mut m = Message::with_capacity(self.lines.len(), self.message_len);
        let base = &self.buf[self.start..];
        for l in &self.lines {
            push_line_to(&mut m, base, l);
        }
        m
    }

    /// The common case: every line is a header and the bytes are UTF-8.
    /// One copy of the received block, spans computed from the line table.
    fn fast_message(&self) -> Option<Message> {
        let last = self.lines.last()?;
        if self.lines.iter().any(|l| l.colon.is_none()) {
            return None;
        }
        let block = &self.buf[self.start..self.start + last.end as usize];
        let text = std::str::from_utf8(block).ok()?;
        let spans = self
            .lines
            .iter()
            .map(|l| {
                let colon = l.colon.unwrap_or(l.end);
                let (mut ns, mut ne) = (l.start, colon);
                while ns < ne && matches!(block[ns as usize], b' ' | b'\t') {
                    ns += 1;
                }
                while ne > ns && matches!(block[ne as usize - 1], b' ' | b'\t') {
                    ne -= 1;
                }
                let mut vs = colon + 1;
                if vs < l.end && block[vs as usize] == b' ' {
                    vs += 1;
                }
                Span {
                    name_start: ns,
                    name_end: ne,
                    value_start: vs.min(l.end),
                    value_end: l.end,
                    latin1: false,
                }
            })
            .collect();
        Some(Message::from_parts(text.to_owned(), spans))
    }

    fn complete(&mut self) -> Result<Option<Frame>, DecodeError> {
        let m = self.partial_message();
        let bad = self.bad_line.take();
        self.reset_message();
        match bad {
            None => Ok(Some(Frame::Message(m))),
            Some(line) => Err(DecodeError::MissingColon { line, partial: m }),
        }
    }
}

fn push_line_to(m: &mut Message, base: &[u8], l: &Line) {
    let line = &base[l.start as usize..l.end as usize];
    match l.colon {
        Some(c) => {
            let c = c as usize - l.start as usize;
            let mut value = &line[c + 1..];
            if let Some(v) = value.strip_prefix(b" ") {
                value = v;
            }
            // Trim as `fast_message` does (spaces and tabs), whole and
            // trimmed whatever the encoding: the name must not depend on
            // which path read the message.
            let name = trim_value(&line[..c]);
            // The separator as received (spaces after the name, the colon,
            // the space if any): ASCII, as the message keeps it.
            let name_end = name.as_ptr() as usize - line.as_ptr() as usize + name.len();
            let sep_end = line.len() - value.len();
            let sep = std::str::from_utf8(&line[name_end..sep_end]).unwrap_or(": ");
            match std::str::from_utf8(name) {
                Ok(n) => m.push_received(n, sep, value),
                Err(_) => m.push_received(&String::from_utf8_lossy(name), sep, value),
            }
        }
        // Only legacy command output is kept without a colon.
        None => m.push_bytes("Output", line),
    }
}

/// The first position at or after `from` holding `a` or `b`, searching a
/// word (8 bytes) at a time.
#[inline]
fn find2(buf: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let (ma, mb) = (LO * a as u64, LO * b as u64);
    let mut i = from;
    while i + 8 <= buf.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&buf[i..i + 8]);
        let w = u64::from_le_bytes(word);
        let (xa, xb) = (w ^ ma, w ^ mb);
        let hit = (xa.wrapping_sub(LO) & !xa | xb.wrapping_sub(LO) & !xb) & HI;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    buf[i.min(buf.len())..]
        .iter()
        .position(|&c| c == a || c == b)
        .map(|p| i + p)
}

fn trim_value(v: &[u8]) -> &[u8] {
    let mut v = v;
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// A header name or value that cannot be put on the wire.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The header name is empty or holds CR, LF or `:`.
    #[error("invalid AMI header name {name:?}")]
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// The value of header `name` holds CR or LF, which would inject a line.
    /// The value itself is not repeated here: it may be a secret.
    #[error("the value of AMI header {name:?} holds CR or LF")]
    InvalidValue {
        /// The name of the header whose value was refused.
        name: String,
    },
}

/// Checks one header for anything that would break the framing.
pub fn check_header(name: &str, value: &str) -> Result<(), EncodeError> {
    if name.is_empty() || name.bytes().any(|b| matches!(b, b'\r' | b'\n' | b':')) {
        return Err(EncodeError::InvalidName { name: name.into() });
    }
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n')) {
        return Err(EncodeError::InvalidValue { name: name.into() });
    }
    Ok(())
}

/// Encodes a message (an action, or for emulators a response or event) as
/// `Name: Value\r\n` lines and a blank line, appending to `out`.
///
/// Every header is checked first; on error nothing is appended.
pub fn encode_message(message: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    for (n, v) in message.iter() {
        check_header(n, v)?;
    }
    out.reserve(message.text_len() + message.len() * 4 + 2);
    message.write_wire(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Decoder) -> Vec<Result<Frame, DecodeError>> {
        let mut v = Vec::new();
        loop {
            match d.decode() {
                Ok(Some(f)) => v.push(Ok(f)),
                Ok(None) => return v,
                Err(e) => v.push(Err(e)),
            }
        }
    }

    #[test]
    fn lf_only_and_crlf_mixed() {
        let mut d = Decoder::without_banner(Limits::default());
        d.feed(b"Event: A\nX: 1\r\n\nEvent: B\r\n\r\n");
        let f = all(&mut d);
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn legacy_follows() {
        let mut d = Decoder::without_banner(Limits::default());
        d.feed(b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nline one: has colon\n\nlast line\n--END COMMAND--\r\n\r\nEvent: X\r\n\r\n");
        let f = all(&mut d);
        let Ok(Frame::Message(m)) = &f[0] else {
            panic!("{f:?}")
        };
        assert_eq!(m.action_id(), Some("7"));
        assert_eq!(
            m.get_all("Output").collect::<Vec<_>>(),
            ["line one: has colon", "", "last line"]
        );
        assert!(matches!(&f[1], Ok(Frame::Message(m)) if m.event_name() == Some("X")));
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn legacy_follows_end_marker_glued() {
        let mut d = Decoder::without_banner(Limits::default());
        d.feed(b"Response: Follows\r\nActionID: 1\r\nout--END COMMAND--\r\n\r\n");
        let f = all(&mut d);
        let Ok(Frame::Message(m)) = &f[0] else {
            panic!("{f:?}")
        };
        assert_eq!(m.get_all("Output").collect::<Vec<_>>(), ["out"]);
    }

    #[test]
    fn missing_colon_keeps_rest_and_resyncs() {
        let mut d = Decoder::without_banner(Limits::default());
        d.feed(b"Response: Success\r\nActionID: 9\r\ngarbage\r\nX: y\r\n\r\nEvent: Ok\r\n\r\n");
        let f = all(&mut d);
        match &f[0] {
            Err(DecodeError::MissingColon { line, partial }) => {
                assert_eq!(line, "garbage");
                assert_eq!(partial.action_id(), Some("9"));
                assert_eq!(partial.get("X"), Some("y"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&f[1], Ok(Frame::Message(m)) if m.event_name() == Some("Ok")));
    }

    #[test]
    fn long_line_refused_then_resync() {
        let limits = Limits {
            max_line_len: 16,
            ..Limits::default()
        };
        let mut d = Decoder::without_banner(limits);
        d.feed(b"ActionID: 1\r\nX: ");
        d.feed(&[b'a'; 100]);
        let e = d.decode().unwrap_err();
        assert!(
            matches!(&e, DecodeError::LineTooLong { limit: 16, partial } if partial.action_id() == Some("1"))
        );
        d.feed(&[b'a'; 1000]);
        assert_eq!(d.decode(), Ok(None));
        assert!(d.buffered() < 100);
        d.feed(b"\r\nY: 2\r\n\r\nEvent: Next\r\n\r\n");
        let f = all(&mut d);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(matches!(&f[0], Ok(Frame::Message(m)) if m.event_name() == Some("Next")));
    }

    #[test]
    fn header_count_and_size_limits() {
        let mut d = Decoder::without_banner(Limits {
            max_headers: 3,
            ..Limits::default()
        });
        d.feed(b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\nE: 5\r\n\r\n");
        let f = all(&mut d);
        assert!(matches!(
            &f[0],
            Err(DecodeError::TooManyHeaders { limit: 3, .. })
        ));
        assert!(matches!(&f[1], Ok(Frame::Message(m)) if m.get("E") == Some("5")));
        let mut d = Decoder::without_banner(Limits {
            max_message_len: 10,
            ..Limits::default()
        });
        d.feed(b"A: 1234\r\nB: 5678\r\n\r\n");
        assert!(matches!(
            d.decode(),
            Err(DecodeError::MessageTooLarge { limit: 10, .. })
        ));
        assert_eq!(d.decode(), Ok(None));
    }

    #[test]
    fn finish_reports_a_cut_message() {
        let mut d = Decoder::without_banner(Limits::default());
        d.feed(b"Response: Success\r\nActionID: 5\r\nPing: Po");
        assert_eq!(d.decode(), Ok(None));
        match d.finish() {
            Err(DecodeError::Truncated { bytes, partial }) => {
                assert_eq!(bytes, 40);
                assert_eq!(partial.action_id(), Some("5"));
            }
            other => panic!("{other:?}"),
        }
        d.feed(b"Event: X\r\n\r\n\r\n");
        assert!(matches!(d.decode(), Ok(Some(_))));
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn bad_banner() {
        let mut d = Decoder::new();
        d.feed(b"Response: Success\r\n\r\n");
        assert!(matches!(d.decode(), Err(DecodeError::BadBanner { .. })));
    }

    #[test]
    fn encode_refuses_injection() {
        let m = Message::new()
            .with("Action", "Setvar")
            .with("Value", "x\r\nAction: Logoff");
        let mut out = Vec::new();
        assert_eq!(
            encode_message(&m, &mut out),
            Err(EncodeError::InvalidValue {
                name: "Value".into()
            })
        );
        assert!(out.is_empty());
        let m = Message::new().with("Bad:Name", "x");
        assert!(matches!(
            encode_message(&m, &mut out),
            Err(EncodeError::InvalidName { .. })
        ));
    }
}
