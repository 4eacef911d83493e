//! Helpers that read typed fields out of a [`Message`].

use std::str::FromStr;

use super::text::Text;

/// A message that could not be read as the typed event it names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// A header the event cannot do without is absent.
    #[error("{event} event without its {header} header")]
    Missing {
        /// The event name.
        event: &'static str,
        /// The missing header.
        header: &'static str,
    },
    /// A header holds a value of the wrong form (a number that is not one).
    #[error("{event} event: {header} is not valid: {value:?}")]
    Invalid {
        /// The event name.
        event: &'static str,
        /// The header.
        header: &'static str,
        /// The value received.
        value: String,
    },
}

/// Splits `NAME=value` (a `ChanVariable:` or `Variable:` value).
#[inline]
pub(crate) fn split_var(v: &str) -> (String, String) {
    match v.split_once('=') {
        Some((n, v)) => (n.to_owned(), v.to_owned()),
        None => (v.to_owned(), String::new()),
    }
}

/// Lower-cases header names into a buffer on the stack, so that typed
/// events can `match` on them without allocating.
pub(crate) struct KeyBuf {
    buf: [u8; 64],
}

impl KeyBuf {
    /// An empty buffer.
    pub(crate) fn new() -> Self {
        KeyBuf { buf: [0; 64] }
    }

    /// `name` in ASCII lower case, as bytes (matched against byte-string
    /// patterns, so no UTF-8 check is needed). A name longer than the
    /// buffer (no known header is) comes back unchanged, and so matches no
    /// known header.
    pub(crate) fn lower<'a>(&'a mut self, name: &'a str) -> &'a [u8] {
        let b = name.as_bytes();
        if b.len() > self.buf.len() {
            return b;
        }
        let out = &mut self.buf[..b.len()];
        for (o, c) in out.iter_mut().zip(b) {
            *o = c.to_ascii_lowercase();
        }
        out
    }
}

/// Sets a text field from the first header of that name.
#[inline]
pub(crate) fn set_text(slot: &mut Option<Text>, value: &str) {
    if slot.is_none() {
        *slot = Some(Text::from(value));
    }
}

/// Sets a numeric field from the first header of that name: empty is
/// `None`, anything but a number is [`EventError::Invalid`].
pub(crate) fn set_number<T: FromStr>(
    slot: &mut Option<T>,
    value: &str,
    event: &'static str,
    header: &'static str,
) -> Result<(), EventError> {
    if slot.is_none() {
        *slot = parse_number(Some(value), event, header)?;
    }
    Ok(())
}

/// Reads a header value as a number: absent or empty is `None`, anything
/// but a number (surrounding blanks aside) is [`EventError::Invalid`].
pub(crate) fn parse_number<T: FromStr>(
    value: Option<&str>,
    event: &'static str,
    header: &'static str,
) -> Result<Option<T>, EventError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| EventError::Invalid {
            event,
            header,
            value: value.unwrap_or_default().to_owned(),
        }),
    }
}

/// True when `name` is a header an event with these known headers and
/// snapshot prefixes maps to a field (`Event`, `Privilege` and `ActionID`
/// always are: [`super::Event::action_id`] reads the last).
pub(crate) fn known_header(
    name: &str,
    headers: &[&str],
    channel_snapshots: &[&str],
    bridge_snapshots: &[&str],
) -> bool {
    name.eq_ignore_ascii_case("Event")
        || name.eq_ignore_ascii_case("Privilege")
        || name.eq_ignore_ascii_case("ActionID")
        || headers.iter().any(|h| h.eq_ignore_ascii_case(name))
        || channel_snapshots
            .iter()
            .any(|p| super::ChannelSnapshot::is_snapshot_header(name, p))
        || bridge_snapshots
            .iter()
            .any(|p| super::BridgeSnapshot::is_snapshot_header(name, p))
}
