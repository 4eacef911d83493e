//! [`Message`]: one AMI packet as an ordered, case-insensitive multimap of headers.

use std::fmt;

use crate::util::{decode_text, latin1_bytes};

/// Where one header's name and value sit inside a [`Message`]'s text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) name_start: u32,
    pub(crate) name_end: u32,
    pub(crate) value_start: u32,
    pub(crate) value_end: u32,
    /// The value was not UTF-8 on the wire and was decoded as Latin-1.
    pub(crate) latin1: bool,
}

/// Whether a [`Message`] is an event, a response, or something else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// Has an `Event:` header. Checked first: `OriginateResponse` events carry
    /// a `Response:` header too.
    Event,
    /// Has a `Response:` header and no `Event:` header.
    Response,
    /// Has an `Action:` header (what a client sends; seen by emulators).
    Action,
    /// None of the above.
    Other,
}

/// One AMI message: headers in the order they arrived, names compared without
/// regard to ASCII case, repeated names kept (`ChanVariable`, `Variable`,
/// `Output`).
///
/// All header text lives in one buffer (for a decoded message, a copy of
/// the bytes received), so building and cloning a message costs two
/// allocations whatever its size.
///
/// A value that was not valid UTF-8 on the wire (a Latin-1 caller name, say)
/// is decoded as Latin-1, so no message is ever lost; [`Message::value_bytes`]
/// gives back the exact bytes that were received.
///
/// A decoded message keeps its headers as they came: the separator between
/// name and value too, so that `AccountCode:` with nothing after the colon
/// (as Asterisk 11 sends it) is written back by [`Message::write_wire`] and
/// `Display` without a space added, and a Latin-1 value goes back out as
/// its original bytes. What the decoder normalises: every line ends in
/// CRLF on the wire (LF in `Display`), spaces before a header name are
/// dropped, and the output lines of a legacy `Response: Follows` become
/// `Output:` headers (their `--END COMMAND--` line dropped). Headers added
/// with [`Message::push`] or [`Message::set`] are written `Name: value`.
///
/// ```
/// use astrix::ami::Message;
///
/// let mut m = Message::new();
/// m.push("Event", "VarSet");
/// m.push("ChanVariable", "A=1");
/// m.push("ChanVariable", "B=2");
/// assert_eq!(m.get("event"), Some("VarSet"));
/// assert_eq!(m.get_all("CHANVARIABLE").collect::<Vec<_>>(), ["A=1", "B=2"]);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Message {
    text: String,
    spans: Vec<Span>,
}

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty message with room for `headers` headers and `bytes` bytes of text.
    pub fn with_capacity(headers: usize, bytes: usize) -> Self {
        Message {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(headers),
        }
    }

    /// Appends a header. The name and value are stored as given; checking
    /// them for CR/LF happens when a message is encoded
    /// ([`crate::ami::codec::encode_message`]).
    pub fn push(&mut self, name: &str, value: &str) {
        self.push_span(name, ": ", value, false);
    }

    /// Appends a header, builder style.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.push(name, value);
        self
    }

    /// Stores `Name{sep}value\r\n`: the wire form, with the separator
    /// (`: `, or `:` as received) between the name's and the value's spans.
    fn push_span(&mut self, name: &str, sep: &str, value: &str, latin1: bool) {
        let name_start = self.text.len() as u32;
        self.text.push_str(name);
        let name_end = self.text.len() as u32;
        self.text.push_str(sep);
        let value_start = self.text.len() as u32;
        self.text.push_str(value);
        let value_end = self.text.len() as u32;
        self.text.push_str("\r\n");
        self.spans.push(Span {
            name_start,
            name_end,
            value_start,
            value_end,
            latin1,
        });
    }

    /// A message over text received as is, with the spans the decoder found.
    pub(crate) fn from_parts(text: String, spans: Vec<Span>) -> Self {
        debug_assert!(spans.iter().all(|s| {
            text.is_char_boundary(s.name_start as usize)
                && text.is_char_boundary(s.name_end as usize)
                && text.is_char_boundary(s.value_start as usize)
                && text.is_char_boundary(s.value_end as usize)
        }));
        Message { text, spans }
    }

    /// Appends a header whose value arrived as raw bytes: kept as is when it
    /// is UTF-8, decoded as Latin-1 otherwise (see [`Message::value_bytes`]).
    pub fn push_bytes(&mut self, name: &str, value: &[u8]) {
        self.push_received(name, ": ", value);
    }

    /// [`Message::push_bytes`] with the separator received between the
    /// name and the value (`: `, `:`, …), kept for the wire form.
    pub(crate) fn push_received(&mut self, name: &str, sep: &str, value: &[u8]) {
        let (v, latin1) = decode_text(value);
        self.push_span(name, sep, &v, latin1);
    }

    /// The header's name and the separator after it, as received.
    #[inline]
    fn name_and_sep(&self, s: &Span) -> &str {
        &self.text[s.name_start as usize..s.value_start as usize]
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the message has no header.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    #[inline]
    fn name_at(&self, s: &Span) -> &str {
        &self.text[s.name_start as usize..s.name_end as usize]
    }

    #[inline]
    fn value_at(&self, s: &Span) -> &str {
        &self.text[s.value_start as usize..s.value_end as usize]
    }

    /// The value of the first header called `name` (ASCII case ignored).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.spans
            .iter()
            .find(|s| self.name_at(s).eq_ignore_ascii_case(name))
            .map(|s| self.value_at(s))
    }

    /// True when a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every value of the headers called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.spans
            .iter()
            .filter(move |s| self.name_at(s).eq_ignore_ascii_case(name))
            .map(move |s| self.value_at(s))
    }

    /// Every header as `(name bytes, value)`: [`Message::iter`] without
    /// the character-boundary check of the name, for matching names
    /// against ASCII patterns on a hot path.
    pub(crate) fn iter_name_bytes(&self) -> impl Iterator<Item = (&[u8], &str)> + '_ {
        let bytes = self.text.as_bytes();
        self.spans.iter().map(move |s| {
            let name = bytes
                .get(s.name_start as usize..s.name_end as usize)
                .unwrap_or_default();
            (name, self.value_at(s))
        })
    }

    /// Every header as `(name, value)`, in the order received.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.spans
            .iter()
            .map(move |s| (self.name_at(s), self.value_at(s)))
    }

    /// The header at position `index`, if there is one.
    pub fn header(&self, index: usize) -> Option<(&str, &str)> {
        self.spans
            .get(index)
            .map(|s| (self.name_at(s), self.value_at(s)))
    }

    /// The exact bytes received for the header at `index`: the UTF-8 bytes
    /// of its value, or, for a value that was not UTF-8 on the wire, the
    /// original Latin-1 bytes.
    pub fn value_bytes(&self, index: usize) -> Option<Vec<u8>> {
        let s = self.spans.get(index)?;
        let v = self.value_at(s);
        Some(if s.latin1 {
            latin1_bytes(v).collect()
        } else {
            v.as_bytes().to_vec()
        })
    }

    /// True when the value at `index` was not UTF-8 and was decoded as Latin-1.
    pub fn is_latin1(&self, index: usize) -> bool {
        self.spans.get(index).is_some_and(|s| s.latin1)
    }

    /// Replaces the value of the first header called `name`, or appends it.
    pub fn set(&mut self, name: &str, value: &str) {
        let mut done = false;
        self.rebuild(|n, _| {
            if !done && n.eq_ignore_ascii_case(name) {
                done = true;
                Some(Some(value.to_owned()))
            } else {
                Some(None)
            }
        });
        if !done {
            self.push(name, value);
        }
    }

    /// Removes every header called `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.spans.len();
        self.rebuild(|n, _| (!n.eq_ignore_ascii_case(name)).then_some(None));
        before - self.spans.len()
    }

    /// Rebuilds the message: for each header `f` answers `None` to drop it,
    /// `Some(None)` to keep it, `Some(Some(v))` to give it value `v`.
    fn rebuild(&mut self, mut f: impl FnMut(&str, &str) -> Option<Option<String>>) {
        let old = std::mem::take(self);
        for s in &old.spans {
            let (n, v) = (old.name_at(s), old.value_at(s));
            match f(n, v) {
                None => {}
                Some(None) => {
                    let sep = &old.name_and_sep(s)[n.len()..];
                    self.push_span(n, sep, v, s.latin1);
                }
                Some(Some(nv)) => self.push_span(n, ": ", &nv, false),
            }
        }
    }

    /// Event, response, action or other; `Event:` is looked at first.
    pub fn kind(&self) -> MessageKind {
        // One pass over the headers instead of three lookups.
        let mut kind = MessageKind::Other;
        for s in &self.spans {
            let n = self.name_at(s);
            if n.eq_ignore_ascii_case("Event") {
                return MessageKind::Event;
            } else if n.eq_ignore_ascii_case("Response") {
                kind = MessageKind::Response;
            } else if kind == MessageKind::Other && n.eq_ignore_ascii_case("Action") {
                kind = MessageKind::Action;
            }
        }
        kind
    }

    /// True when this is an event (it has an `Event:` header).
    pub fn is_event(&self) -> bool {
        self.kind() == MessageKind::Event
    }

    /// True when this is a response (a `Response:` header and no `Event:`).
    pub fn is_response(&self) -> bool {
        self.kind() == MessageKind::Response
    }

    /// The `Event:` header.
    pub fn event_name(&self) -> Option<&str> {
        self.get("Event")
    }

    /// The `Response:` header (`Success`, `Error`, `Follows`, `Goodbye`, …).
    pub fn response(&self) -> Option<&str> {
        self.get("Response")
    }

    /// The `ActionID:` header.
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// The `Message:` header (the human-readable text of a response).
    pub fn message_text(&self) -> Option<&str> {
        self.get("Message")
    }

    /// Writes the message in AMI wire form (`Name: Value\r\n` lines and a
    /// blank line) without any check; see
    /// [`crate::ami::codec::encode_message`] for the checked form. Decoded
    /// headers go out as they came (see [`Message`]).
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        for s in &self.spans {
            out.extend_from_slice(self.name_and_sep(s).as_bytes());
            let v = self.value_at(s);
            if s.latin1 {
                out.extend(latin1_bytes(v));
            } else {
                out.extend_from_slice(v.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Total bytes of header text (names and values).
    pub fn text_len(&self) -> usize {
        self.text.len()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_list();
        for (n, v) in self.iter() {
            // Never print a login secret or key, even in debug output.
            if n.eq_ignore_ascii_case("Secret") || n.eq_ignore_ascii_case("Key") {
                m.entry(&format_args!("{n}: ***"));
            } else {
                m.entry(&format_args!("{n}: {v}"));
            }
        }
        m.finish()
    }
}

/// Writes the message as `Name: Value` lines followed by an empty line, the
/// form `ami_tail` prints; decoded headers as they came (see [`Message`]).
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.spans {
            writeln!(f, "{}{}", self.name_and_sep(s), self.value_at(s))?;
        }
        writeln!(f)
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Message {
    fn from_iter<T: IntoIterator<Item = (&'a str, &'a str)>>(iter: T) -> Self {
        let mut m = Message::new();
        for (n, v) in iter {
            m.push(n, v);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_looks_at_event_first() {
        let m: Message = [("Response", "Success"), ("Event", "OriginateResponse")]
            .into_iter()
            .collect();
        assert_eq!(m.kind(), MessageKind::Event);
        let m: Message = [("Response", "Success")].into_iter().collect();
        assert_eq!(m.kind(), MessageKind::Response);
        assert_eq!(Message::new().kind(), MessageKind::Other);
    }

    #[test]
    fn latin1_roundtrip() {
        let mut m = Message::new();
        m.push_bytes("CallerIDName", b"Jos\xe9");
        assert_eq!(m.get("callleridname"), None);
        assert_eq!(m.get("calleridname"), Some("José"));
        assert!(m.is_latin1(0));
        assert_eq!(m.value_bytes(0).unwrap(), b"Jos\xe9");
    }

    #[test]
    fn set_and_remove_keep_order() {
        let mut m: Message = [("A", "1"), ("B", "2"), ("A", "3")].into_iter().collect();
        m.set("b", "x");
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [("A", "1"), ("B", "x"), ("A", "3")]
        );
        assert_eq!(m.remove("a"), 2);
        assert_eq!(m.iter().collect::<Vec<_>>(), [("B", "x")]);
        m.set("C", "y");
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn debug_hides_secrets() {
        let m: Message = [("Action", "Login"), ("Secret", "hunter2")]
            .into_iter()
            .collect();
        let d = format!("{m:?}");
        assert!(!d.contains("hunter2"), "{d}");
    }
}
