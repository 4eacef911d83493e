//! Helpers that read typed fields out of a [`Message`].

use std::str::FromStr;

use crate::ami::Message;

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

/// A required string header.
pub(crate) fn req(
    m: &Message,
    event: &'static str,
    header: &'static str,
) -> Result<String, EventError> {
    m.get(header)
        .map(str::to_owned)
        .ok_or(EventError::Missing { event, header })
}

/// An optional string header.
pub(crate) fn opt(m: &Message, header: &str) -> Option<String> {
    m.get(header).map(str::to_owned)
}

/// An optional number: absent or empty is `None`, garbage is an error.
pub(crate) fn num<T: FromStr>(
    m: &Message,
    event: &'static str,
    header: &'static str,
) -> Result<Option<T>, EventError> {
    match m.get(header).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| EventError::Invalid {
            event,
            header,
            value: v.to_owned(),
        }),
    }
}

/// Splits `NAME=value` (a `ChanVariable:` or `Variable:` value).
pub(crate) fn split_var(v: &str) -> (String, String) {
    match v.split_once('=') {
        Some((n, v)) => (n.to_owned(), v.to_owned()),
        None => (v.to_owned(), String::new()),
    }
}
