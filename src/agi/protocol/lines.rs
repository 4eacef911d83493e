//! What the line-based parsers share: taking their lines from a buffer.

use crate::agi::error::AgiError;

/// A parser fed one line at a time: [`EnvParser`](super::EnvParser),
/// [`ReplyParser`](super::ReplyParser).
pub(crate) trait LineParser {
    /// What a complete run of lines yields.
    type Output;
    /// Takes one line, with or without its `\n`.
    fn push_line(&mut self, line: &[u8]) -> Result<Option<Self::Output>, AgiError>;
    /// Checks a line that has no `\n` yet, `pending` bytes so far, against
    /// the limits the whole line will be held to, so that whoever buffers
    /// it (a transport, [`decode_lines`]) stops as soon as it can never fit.
    fn check_partial(&mut self, pending: usize) -> Result<(), AgiError>;
}

/// Feeds the whole lines at the start of `buf` to `parser` until it yields
/// its output; answers it with the bytes taken (up to and including the
/// last line's `\n`), or `Ok(None)` ("need more") once the unfinished tail
/// has passed [`LineParser::check_partial`].
pub(crate) fn decode_lines<P: LineParser>(
    parser: &mut P,
    buf: &[u8],
) -> Result<Option<(P::Output, usize)>, AgiError> {
    let mut pos = 0;
    while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
        let end = pos + nl + 1;
        if let Some(out) = parser.push_line(&buf[pos..end])? {
            return Ok(Some((out, end)));
        }
        pos = end;
    }
    parser.check_partial(buf.len() - pos)?;
    Ok(None)
}
