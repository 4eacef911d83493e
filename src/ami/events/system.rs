//! `UserEvent`, written by hand: its headers are whatever the sender chose.

use super::parse::{set_text, EventError, KeyBuf};
use super::snapshot::ChannelSnapshotBuilder;
use super::{ChannelSnapshot, Event};
use crate::ami::events::Text;
use crate::ami::Message;

/// `UserEvent`: raised by the dialplan `UserEvent()` application or the
/// `UserEvent` action. Its own headers are kept in order.
///
/// Documented since Asterisk 12.0.0 (and raised since 1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserEvent {
    /// The user event's name (`UserEvent:` header; empty if absent).
    pub name: Text,
    /// The channel it was raised on, when raised from the dialplan.
    pub channel: Option<ChannelSnapshot>,
    /// Every header other than `Event`, `UserEvent`, `Privilege` and the
    /// channel snapshot, in order.
    pub headers: Vec<(String, String)>,
    raw: Message,
}

impl Event for UserEvent {
    const NAME: &'static str = "UserEvent";
    const HEADERS: &'static [&'static str] = &["UserEvent"];
    const CHANNEL_SNAPSHOTS: &'static [&'static str] = &[""];

    fn from_message(m: &Message) -> Result<Self, EventError> {
        // Without a `Channel` header there is no snapshot, and headers such
        // as `Priority` are the sender's own.
        let has_channel = m.contains("Channel");
        let mut channel = ChannelSnapshotBuilder::default();
        let mut name = None;
        let mut headers = Vec::new();
        let mut buf = KeyBuf::new();
        for (n, v) in m.iter() {
            match buf.lower(n) {
                b"event" | b"privilege" => {}
                b"userevent" => set_text(&mut name, v),
                key => {
                    if !(has_channel && channel.accept(key, v, Self::NAME)?) {
                        headers.push((n.to_owned(), v.to_owned()));
                    }
                }
            }
        }
        Ok(UserEvent {
            name: name.unwrap_or_default(),
            channel: channel.finish(),
            headers,
            raw: m.clone(),
        })
    }

    fn message(&self) -> &Message {
        &self.raw
    }

    /// Every header is held by a field: the snapshot or [`UserEvent::headers`].
    fn is_known_header(_: &str) -> bool {
        true
    }
}
