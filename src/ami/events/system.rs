//! System-level events: FullyBooted, UserEvent, CoreShowChannel.

use super::channel::ChannelSnapshot;
use super::parse::{num, opt, req, EventError};
use super::Event;
use crate::ami::Message;

/// `FullyBooted`: Asterisk has finished starting (also sent right after login).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FullyBooted {
    /// `Status`, normally `Fully Booted`.
    pub status: Option<String>,
    /// Seconds since Asterisk started (`Uptime`).
    pub uptime: Option<u64>,
    /// Seconds since the last reload (`LastReload`).
    pub last_reload: Option<u64>,
}

impl Event for FullyBooted {
    const NAME: &'static str = "FullyBooted";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        Ok(FullyBooted {
            status: opt(m, "Status"),
            uptime: num(m, Self::NAME, "Uptime")?,
            last_reload: num(m, Self::NAME, "LastReload")?,
        })
    }
}

/// `UserEvent`: raised by the dialplan `UserEvent()` application or the
/// `UserEvent` action. Its own headers are kept in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserEvent {
    /// The user event's name (`UserEvent:` header).
    pub name: String,
    /// The channel it was raised on, when raised from the dialplan.
    pub channel: Option<ChannelSnapshot>,
    /// Every header other than `Event`, `UserEvent`, `Privilege` and the
    /// channel snapshot, in order.
    pub headers: Vec<(String, String)>,
}

impl Event for UserEvent {
    const NAME: &'static str = "UserEvent";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        let channel = ChannelSnapshot::optional(m, "")?;
        let headers = m
            .iter()
            .filter(|(n, _)| {
                !["Event", "UserEvent", "Privilege"]
                    .iter()
                    .any(|k| n.eq_ignore_ascii_case(k))
                    && (channel.is_none() || !ChannelSnapshot::is_snapshot_header(n, ""))
            })
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        Ok(UserEvent {
            name: req(m, Self::NAME, "UserEvent")?,
            channel,
            headers,
        })
    }
}

/// `CoreShowChannel`: one channel in the `CoreShowChannels` list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CoreShowChannel {
    /// The channel.
    pub channel: ChannelSnapshot,
    /// The bridge it is in, if any (`BridgeId`, empty when none).
    pub bridge_id: Option<String>,
    /// The application running (`Application`).
    pub application: Option<String>,
    /// Its arguments (`ApplicationData`).
    pub application_data: Option<String>,
    /// How long the channel has existed, as `HH:MM:SS` (`Duration`).
    pub duration: Option<String>,
}

impl Event for CoreShowChannel {
    const NAME: &'static str = "CoreShowChannel";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        Ok(CoreShowChannel {
            channel: ChannelSnapshot::from_message(m, Self::NAME)?,
            bridge_id: opt(m, "BridgeId").filter(|s| !s.is_empty()),
            application: opt(m, "Application"),
            application_data: opt(m, "ApplicationData"),
            duration: opt(m, "Duration"),
        })
    }
}
