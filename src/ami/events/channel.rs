//! Channel events and the channel snapshot they share.

use super::parse::{num, opt, req, split_var, EventError};
use super::Event;
use crate::ami::Message;

/// A channel's state, as `ChannelState:` carries it (`ast_channel_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelState {
    /// 0: down and available.
    Down,
    /// 1: reserved.
    Reserved,
    /// 2: off hook.
    OffHook,
    /// 3: digits dialed.
    Dialing,
    /// 4: ringing (the line rings at the far end).
    Ring,
    /// 5: the remote end is ringing.
    Ringing,
    /// 6: answered.
    Up,
    /// 7: busy.
    Busy,
    /// 8: dialing while off hook.
    DialingOffhook,
    /// 9: ring detected before the call is set up.
    PreRing,
    /// 10: muted.
    Mute,
    /// A value this version does not know.
    Unknown(u8),
}

impl ChannelState {
    /// The state for a numeric `ChannelState:` value.
    pub fn from_code(code: u8) -> Self {
        use ChannelState::*;
        match code {
            0 => Down,
            1 => Reserved,
            2 => OffHook,
            3 => Dialing,
            4 => Ring,
            5 => Ringing,
            6 => Up,
            7 => Busy,
            8 => DialingOffhook,
            9 => PreRing,
            10 => Mute,
            n => Unknown(n),
        }
    }
}

/// The snapshot of a channel that most channel events carry (`Channel`,
/// `ChannelState`, caller ID, dialplan location, `Uniqueid`, `Linkedid`,
/// `ChanVariable` headers). Two-channel events carry a second one whose
/// header names have a prefix (`DestChannel`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelSnapshot {
    /// The channel name (`Channel`).
    pub channel: String,
    /// The state (`ChannelState`).
    pub state: Option<ChannelState>,
    /// The state's text (`ChannelStateDesc`).
    pub state_desc: Option<String>,
    /// `CallerIDNum`.
    pub caller_id_num: Option<String>,
    /// `CallerIDName`.
    pub caller_id_name: Option<String>,
    /// `ConnectedLineNum`.
    pub connected_line_num: Option<String>,
    /// `ConnectedLineName`.
    pub connected_line_name: Option<String>,
    /// `Language`.
    pub language: Option<String>,
    /// `AccountCode`.
    pub account_code: Option<String>,
    /// `Context`.
    pub context: Option<String>,
    /// `Exten`.
    pub exten: Option<String>,
    /// `Priority`.
    pub priority: Option<i64>,
    /// `Uniqueid`.
    pub uniqueid: String,
    /// `Linkedid`: the Uniqueid of the oldest channel of the call.
    pub linkedid: Option<String>,
    /// `ChanVariable: NAME=value` headers (from manager.conf `channelvars`),
    /// in order, empty values included.
    pub variables: Vec<(String, String)>,
}

const SNAPSHOT_FIELDS: [&str; 15] = [
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
    "ChanVariable",
];

impl ChannelSnapshot {
    /// Reads the unprefixed snapshot; `Channel` and `Uniqueid` are required.
    pub fn from_message(m: &Message, event: &'static str) -> Result<Self, EventError> {
        Self::read(m, event, "")?.ok_or(EventError::Missing {
            event,
            header: "Channel",
        })
    }

    /// Reads the snapshot whose headers start with `prefix` (`"Dest"`), or
    /// `None` when it is absent.
    pub fn optional(m: &Message, prefix: &str) -> Result<Option<Self>, EventError> {
        Self::read(m, "snapshot", prefix)
    }

    /// True when header `name` belongs to the snapshot with `prefix`.
    pub fn is_snapshot_header(name: &str, prefix: &str) -> bool {
        name.len() >= prefix.len()
            && name.is_char_boundary(prefix.len())
            && name[..prefix.len()].eq_ignore_ascii_case(prefix)
            && SNAPSHOT_FIELDS
                .iter()
                .any(|f| name[prefix.len()..].eq_ignore_ascii_case(f))
    }

    fn read(m: &Message, event: &'static str, prefix: &str) -> Result<Option<Self>, EventError> {
        let get = |f: &str| -> Option<&str> {
            if prefix.is_empty() {
                m.get(f)
            } else {
                let mut key = String::with_capacity(prefix.len() + f.len());
                key.push_str(prefix);
                key.push_str(f);
                // Borrow from the message, not the temporary key.
                m.iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&key))
                    .map(|(_, v)| v)
            }
        };
        let Some(channel) = get("Channel") else {
            return Ok(None);
        };
        let parse_num = |f: &'static str| -> Result<Option<i64>, EventError> {
            match get(f).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|_| EventError::Invalid {
                    event,
                    header: f,
                    value: v.into(),
                }),
            }
        };
        let state =
            parse_num("ChannelState")?.map(|c| ChannelState::from_code(c.clamp(0, 255) as u8));
        let s = |f: &str| get(f).map(str::to_owned);
        let var_header = format!("{prefix}ChanVariable");
        Ok(Some(ChannelSnapshot {
            channel: channel.to_owned(),
            state,
            state_desc: s("ChannelStateDesc"),
            caller_id_num: s("CallerIDNum"),
            caller_id_name: s("CallerIDName"),
            connected_line_num: s("ConnectedLineNum"),
            connected_line_name: s("ConnectedLineName"),
            language: s("Language"),
            account_code: s("AccountCode"),
            context: s("Context"),
            exten: s("Exten"),
            priority: parse_num("Priority")?,
            uniqueid: get("Uniqueid")
                .ok_or(EventError::Missing {
                    event,
                    header: "Uniqueid",
                })?
                .to_owned(),
            linkedid: s("Linkedid"),
            variables: m.get_all(&var_header).map(split_var).collect(),
        }))
    }
}

/// `Newchannel`: a channel was created.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Newchannel {
    /// The new channel.
    pub channel: ChannelSnapshot,
}

impl Event for Newchannel {
    const NAME: &'static str = "Newchannel";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        Ok(Newchannel {
            channel: ChannelSnapshot::from_message(m, Self::NAME)?,
        })
    }
}

/// `Newstate`: a channel changed state (ringing, up, …).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Newstate {
    /// The channel, in its new state.
    pub channel: ChannelSnapshot,
}

impl Event for Newstate {
    const NAME: &'static str = "Newstate";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        Ok(Newstate {
            channel: ChannelSnapshot::from_message(m, Self::NAME)?,
        })
    }
}

/// `Hangup`: a channel hung up.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hangup {
    /// The channel.
    pub channel: ChannelSnapshot,
    /// The Q.850 hangup cause (`Cause`), e.g. 16 for normal clearing.
    pub cause: Option<i32>,
    /// The cause's text (`Cause-txt`).
    pub cause_txt: Option<String>,
}

impl Event for Hangup {
    const NAME: &'static str = "Hangup";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        Ok(Hangup {
            channel: ChannelSnapshot::from_message(m, Self::NAME)?,
            cause: num(m, Self::NAME, "Cause")?,
            cause_txt: opt(m, "Cause-txt"),
        })
    }
}

/// `VarSet`: a variable was set on a channel, or globally (then Asterisk
/// sends `Channel: none` and no snapshot: `channel` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VarSet {
    /// The channel, or `None` for a global variable.
    pub channel: Option<ChannelSnapshot>,
    /// The variable name (`Variable`).
    pub variable: String,
    /// Its new value (`Value`).
    pub value: String,
}

impl Event for VarSet {
    const NAME: &'static str = "VarSet";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        let channel = match m.get("Channel") {
            None | Some("none") => None,
            Some(_) => Some(ChannelSnapshot::from_message(m, Self::NAME)?),
        };
        Ok(VarSet {
            channel,
            variable: req(m, Self::NAME, "Variable")?,
            value: opt(m, "Value").unwrap_or_default(),
        })
    }
}

/// `OriginateResponse`: the outcome of an `Async` Originate. Carries the
/// Originate's ActionID, and a `Response:` header (`Success`/`Failure`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OriginateResponse {
    /// The Originate's ActionID.
    pub action_id: Option<String>,
    /// `Success` or `Failure` (`Response`).
    pub response: String,
    /// The channel that was dialed.
    pub channel: Option<String>,
    /// `Context`, for an originate to an extension.
    pub context: Option<String>,
    /// `Exten`, for an originate to an extension.
    pub exten: Option<String>,
    /// `Application`, for an originate to an application.
    pub application: Option<String>,
    /// `Data`, the application's arguments.
    pub data: Option<String>,
    /// The dial outcome (`Reason`): 0 no such extension or number, 1 no
    /// answer, 3 ringing then no answer, 4 answered, 5 busy, 8 congestion.
    pub reason: Option<i32>,
    /// The channel's Uniqueid (`Uniqueid`; `<null>` when none was created).
    pub uniqueid: Option<String>,
    /// `CallerIDNum`.
    pub caller_id_num: Option<String>,
    /// `CallerIDName`.
    pub caller_id_name: Option<String>,
    /// `ChanVariable(CHANNEL): NAME=value` headers, in order.
    pub variables: Vec<(String, String)>,
}

impl OriginateResponse {
    /// True when the call was answered (`Response: Success`).
    pub fn is_success(&self) -> bool {
        self.response.eq_ignore_ascii_case("Success")
    }
}

impl Event for OriginateResponse {
    const NAME: &'static str = "OriginateResponse";
    fn from_message(m: &Message) -> Result<Self, EventError> {
        Ok(OriginateResponse {
            action_id: opt(m, "ActionID"),
            response: req(m, Self::NAME, "Response")?,
            channel: opt(m, "Channel"),
            context: opt(m, "Context"),
            exten: opt(m, "Exten"),
            application: opt(m, "Application"),
            data: opt(m, "Data"),
            reason: num(m, Self::NAME, "Reason")?,
            uniqueid: opt(m, "Uniqueid"),
            caller_id_num: opt(m, "CallerIDNum"),
            caller_id_name: opt(m, "CallerIDName"),
            variables: m
                .iter()
                .filter(|(n, _)| {
                    n.len() >= 12
                        && n.is_char_boundary(12)
                        && n[..12].eq_ignore_ascii_case("ChanVariable")
                })
                .map(|(_, v)| split_var(v))
                .collect(),
        })
    }
}
