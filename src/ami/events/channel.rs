//! Channel events written by hand: `VarSet` (a global variable has no
//! channel) and `OriginateResponse` (its `ChanVariable(…)` headers).

use super::parse::{set_number, set_text, split_var, EventError, KeyBuf};
use super::snapshot::ChannelSnapshotBuilder;
use super::{ChannelSnapshot, Event};
use crate::ami::events::Text;
use crate::ami::Message;

/// `VarSet`: a variable was set on a channel, or globally (then Asterisk
/// sends `Channel: none` and no snapshot: `channel` is `None`).
///
/// Documented since Asterisk 12.0.0 (and raised since 1.6).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VarSet {
    /// The channel, or `None` for a global variable.
    pub channel: Option<ChannelSnapshot>,
    /// The variable name (`Variable`; empty if absent).
    pub variable: Text,
    /// Its new value (`Value`; empty if absent).
    pub value: Text,
    raw: Message,
}

impl Event for VarSet {
    const NAME: &'static str = "VarSet";
    const HEADERS: &'static [&'static str] = &["Variable", "Value"];
    const CHANNEL_SNAPSHOTS: &'static [&'static str] = &[""];

    fn from_message(m: &Message) -> Result<Self, EventError> {
        let mut channel = ChannelSnapshotBuilder::default();
        let (mut variable, mut value) = (None, None);
        let mut buf = KeyBuf::new();
        for (name, v) in m.iter() {
            match buf.lower(name) {
                b"variable" => set_text(&mut variable, v),
                b"value" => set_text(&mut value, v),
                key => {
                    channel.accept(key, v, Self::NAME)?;
                }
            }
        }
        Ok(VarSet {
            channel: channel
                .finish()
                .filter(|c| !c.channel.eq_ignore_ascii_case("none")),
            variable: variable.unwrap_or_default(),
            value: value.unwrap_or_default(),
            raw: m.clone(),
        })
    }

    fn message(&self) -> &Message {
        &self.raw
    }
}

/// `OriginateResponse`: the outcome of an `Async` Originate. Carries the
/// Originate's ActionID, and a `Response:` header (`Success`/`Failure`).
///
/// Documented since Asterisk 0.2.0.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OriginateResponse {
    /// The Originate's ActionID.
    pub action_id: Option<Text>,
    /// `Success` or `Failure` (`Response`; empty if absent).
    pub response: Text,
    /// The channel that was dialed.
    pub channel: Option<Text>,
    /// `Context`, for an originate to an extension.
    pub context: Option<Text>,
    /// `Exten`, for an originate to an extension.
    pub exten: Option<Text>,
    /// `Application`, for an originate to an application.
    pub application: Option<Text>,
    /// `Data`, the application's arguments.
    pub data: Option<Text>,
    /// The dial outcome (`Reason`): 0 no such extension or number, 1 no
    /// answer, 3 ringing then no answer, 4 answered, 5 busy, 8 congestion.
    pub reason: Option<i32>,
    /// The channel's Uniqueid (`Uniqueid`; `<null>` when none was created).
    pub uniqueid: Option<Text>,
    /// `CallerIDNum`.
    pub caller_id_num: Option<Text>,
    /// `CallerIDName`.
    pub caller_id_name: Option<Text>,
    /// `ChanVariable(CHANNEL): NAME=value` headers, in order.
    pub variables: Vec<(String, String)>,
    raw: Message,
}

impl OriginateResponse {
    /// True when the call was answered (`Response: Success`).
    pub fn is_success(&self) -> bool {
        self.response.eq_ignore_ascii_case("Success")
    }
}

fn is_chan_variable(name: &str) -> bool {
    name.len() >= 12 && name.is_char_boundary(12) && name[..12].eq_ignore_ascii_case("ChanVariable")
}

impl Event for OriginateResponse {
    const NAME: &'static str = "OriginateResponse";
    const HEADERS: &'static [&'static str] = &[
        "ActionID",
        "Response",
        "Channel",
        "Context",
        "Exten",
        "Application",
        "Data",
        "Reason",
        "Uniqueid",
        "CallerIDNum",
        "CallerIDName",
    ];

    fn from_message(m: &Message) -> Result<Self, EventError> {
        let mut e = OriginateResponse {
            action_id: None,
            response: Text::default(),
            channel: None,
            context: None,
            exten: None,
            application: None,
            data: None,
            reason: None,
            uniqueid: None,
            caller_id_num: None,
            caller_id_name: None,
            variables: Vec::new(),
            raw: m.clone(),
        };
        let mut response = None;
        let mut buf = KeyBuf::new();
        for (name, v) in m.iter() {
            match buf.lower(name) {
                b"actionid" => set_text(&mut e.action_id, v),
                b"response" => set_text(&mut response, v),
                b"channel" => set_text(&mut e.channel, v),
                b"context" => set_text(&mut e.context, v),
                b"exten" => set_text(&mut e.exten, v),
                b"application" => set_text(&mut e.application, v),
                b"data" => set_text(&mut e.data, v),
                b"reason" => set_number(&mut e.reason, v, Self::NAME, "Reason")?,
                b"uniqueid" => set_text(&mut e.uniqueid, v),
                b"calleridnum" => set_text(&mut e.caller_id_num, v),
                b"calleridname" => set_text(&mut e.caller_id_name, v),
                _ if is_chan_variable(name) => e.variables.push(split_var(v)),
                _ => {}
            }
        }
        e.response = response.unwrap_or_default();
        Ok(e)
    }

    fn message(&self) -> &Message {
        &self.raw
    }

    fn is_known_header(name: &str) -> bool {
        is_chan_variable(name) || super::parse::known_header(name, Self::HEADERS, &[], &[])
    }
}
