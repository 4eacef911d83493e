//! The channel and bridge snapshots that many events carry, read in one
//! pass over the message.

use super::parse::{set_number, set_text, split_var, EventError, KeyBuf};
use super::text::Text;
use crate::ami::Message;
use crate::ChannelState;

/// The snapshot of a channel that most channel events carry (`Channel`,
/// `ChannelState`, caller ID, dialplan location, `Uniqueid`, `Linkedid`,
/// `ChanVariable` headers). Two-channel events carry more than one, whose
/// header names start with a prefix (`DestChannel`, `TransfereeChannel`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelSnapshot {
    /// The channel name (`Channel`).
    pub channel: Text,
    /// The state (`ChannelState`).
    pub state: Option<ChannelState>,
    /// The state's text (`ChannelStateDesc`).
    pub state_desc: Option<Text>,
    /// `CallerIDNum`.
    pub caller_id_num: Option<Text>,
    /// `CallerIDName`.
    pub caller_id_name: Option<Text>,
    /// `ConnectedLineNum`.
    pub connected_line_num: Option<Text>,
    /// `ConnectedLineName`.
    pub connected_line_name: Option<Text>,
    /// `Language`.
    pub language: Option<Text>,
    /// `AccountCode`.
    pub account_code: Option<Text>,
    /// `Context`.
    pub context: Option<Text>,
    /// `Exten`.
    pub exten: Option<Text>,
    /// `Priority`.
    pub priority: Option<i64>,
    /// `Uniqueid`.
    pub uniqueid: Text,
    /// `Linkedid`: the Uniqueid of the oldest channel of the call.
    pub linkedid: Option<Text>,
    /// `Tenantid` (Asterisk 18.21, 20.6, 21.1 and later, when set).
    pub tenantid: Option<Text>,
    /// `ChanVariable: NAME=value` headers (from manager.conf `channelvars`),
    /// in order, empty values included.
    pub variables: Vec<(String, String)>,
}

/// The snapshot's header names, without prefix, lower case.
const CHANNEL_FIELDS: [&str; 16] = [
    "channel",
    "channelstate",
    "channelstatedesc",
    "calleridnum",
    "calleridname",
    "connectedlinenum",
    "connectedlinename",
    "language",
    "accountcode",
    "context",
    "exten",
    "priority",
    "uniqueid",
    "linkedid",
    "tenantid",
    "chanvariable",
];

/// True when `name` is `prefix` followed by one of `fields` (lower case),
/// compared without regard to case.
fn is_prefixed_field(name: &str, prefix: &str, fields: &[&str]) -> bool {
    name.len() > prefix.len()
        && name.is_char_boundary(prefix.len())
        && name[..prefix.len()].eq_ignore_ascii_case(prefix)
        && fields
            .iter()
            .any(|f| name[prefix.len()..].eq_ignore_ascii_case(f))
}

/// Offers every header of `m` to `accept` once, with the header name in
/// lower case and `prefix` (lower case) stripped.
fn read_prefixed(
    m: &Message,
    prefix: &str,
    mut accept: impl FnMut(&[u8], &str) -> Result<bool, EventError>,
) -> Result<(), EventError> {
    let mut buf = KeyBuf::new();
    let mut lower_prefix = KeyBuf::new();
    let prefix = lower_prefix.lower(prefix);
    for (name, value) in m.iter() {
        if let Some(rest) = buf.lower(name).strip_prefix(prefix) {
            accept(rest, value)?;
        }
    }
    Ok(())
}

impl ChannelSnapshot {
    /// Reads the unprefixed snapshot; `Channel` and `Uniqueid` are required.
    pub fn from_message(m: &Message, event: &'static str) -> Result<Self, EventError> {
        let mut b = ChannelSnapshotBuilder::default();
        read_prefixed(m, "", |k, v| b.accept(k, v, event))?;
        b.finish_required(event)
    }

    /// Reads the snapshot whose headers start with `prefix` (`"Dest"`), or
    /// `None` when it has no `…Channel` header.
    pub fn optional(m: &Message, prefix: &str) -> Result<Option<Self>, EventError> {
        let mut b = ChannelSnapshotBuilder::default();
        read_prefixed(m, prefix, |k, v| b.accept(k, v, "snapshot"))?;
        Ok(b.finish())
    }

    /// True when header `name` belongs to the snapshot with `prefix`
    /// (`ChanVariable` headers included).
    pub fn is_snapshot_header(name: &str, prefix: &str) -> bool {
        is_prefixed_field(name, prefix, &CHANNEL_FIELDS)
    }
}

/// Collects a [`ChannelSnapshot`] while an event's headers are read once.
#[derive(Debug, Default)]
pub(crate) struct ChannelSnapshotBuilder {
    snap: ChannelSnapshot,
    has_channel: bool,
    has_uniqueid: bool,
}

impl ChannelSnapshotBuilder {
    /// Takes header `key` (lower case, prefix removed) if it belongs to the
    /// snapshot. The first of repeated headers wins, except `ChanVariable`.
    pub(crate) fn accept(
        &mut self,
        key: &[u8],
        v: &str,
        event: &'static str,
    ) -> Result<bool, EventError> {
        let s = &mut self.snap;
        match key {
            b"channel" => {
                if !self.has_channel {
                    self.has_channel = true;
                    s.channel = Text::from(v);
                }
            }
            b"channelstate" => {
                if s.state.is_none() {
                    let mut code: Option<i64> = None;
                    set_number(&mut code, v, event, "ChannelState")?;
                    s.state = code.map(ChannelState::from_code);
                }
            }
            b"channelstatedesc" => set_text(&mut s.state_desc, v),
            b"calleridnum" => set_text(&mut s.caller_id_num, v),
            b"calleridname" => set_text(&mut s.caller_id_name, v),
            b"connectedlinenum" => set_text(&mut s.connected_line_num, v),
            b"connectedlinename" => set_text(&mut s.connected_line_name, v),
            b"language" => set_text(&mut s.language, v),
            b"accountcode" => set_text(&mut s.account_code, v),
            b"context" => set_text(&mut s.context, v),
            b"exten" => set_text(&mut s.exten, v),
            b"priority" => set_number(&mut s.priority, v, event, "Priority")?,
            b"uniqueid" => {
                if !self.has_uniqueid {
                    self.has_uniqueid = true;
                    s.uniqueid = Text::from(v);
                }
            }
            b"linkedid" => set_text(&mut s.linkedid, v),
            b"tenantid" => set_text(&mut s.tenantid, v),
            b"chanvariable" => s.variables.push(split_var(v)),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The snapshot, or `None` when no `Channel` header was seen.
    pub(crate) fn finish(self) -> Option<ChannelSnapshot> {
        self.has_channel.then_some(self.snap)
    }

    /// The snapshot; without `Channel` or `Uniqueid` it is an error.
    pub(crate) fn finish_required(
        self,
        event: &'static str,
    ) -> Result<ChannelSnapshot, EventError> {
        if !self.has_channel {
            return Err(EventError::Missing {
                event,
                header: "Channel",
            });
        }
        if !self.has_uniqueid {
            return Err(EventError::Missing {
                event,
                header: "Uniqueid",
            });
        }
        Ok(self.snap)
    }
}

/// The snapshot of a bridge that bridge events carry (`BridgeUniqueid`,
/// `BridgeType`, `BridgeTechnology`, …). `BridgeMerge` carries two, with the
/// prefixes `To` and `From`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeSnapshot {
    /// The bridge's unique ID (`BridgeUniqueid`).
    pub uniqueid: Text,
    /// `BridgeType`, e.g. `basic`.
    pub bridge_type: Option<Text>,
    /// `BridgeTechnology`, e.g. `simple_bridge`.
    pub technology: Option<Text>,
    /// `BridgeCreator`: what created the bridge (`<unknown>` when nothing says).
    pub creator: Option<Text>,
    /// `BridgeName` (`<unknown>` when unnamed).
    pub name: Option<Text>,
    /// `BridgeNumChannels`: how many channels are in it.
    pub num_channels: Option<u32>,
    /// `BridgeVideoSourceMode` (`none`, `talker`, `single`).
    pub video_source_mode: Option<Text>,
    /// `BridgeVideoSource`: the Uniqueid of the video source, when one is set.
    pub video_source: Option<Text>,
}

const BRIDGE_FIELDS: [&str; 8] = [
    "bridgeuniqueid",
    "bridgetype",
    "bridgetechnology",
    "bridgecreator",
    "bridgename",
    "bridgenumchannels",
    "bridgevideosourcemode",
    "bridgevideosource",
];

impl BridgeSnapshot {
    /// Reads the snapshot whose headers start with `prefix` (`""`, `"To"`,
    /// `"From"`), or `None` when it has no `…BridgeUniqueid` header.
    pub fn optional(m: &Message, prefix: &str) -> Result<Option<Self>, EventError> {
        let mut b = BridgeSnapshotBuilder::default();
        read_prefixed(m, prefix, |k, v| b.accept(k, v, "snapshot"))?;
        Ok(b.finish())
    }

    /// True when header `name` belongs to the bridge snapshot with `prefix`.
    pub fn is_snapshot_header(name: &str, prefix: &str) -> bool {
        is_prefixed_field(name, prefix, &BRIDGE_FIELDS)
    }
}

/// Collects a [`BridgeSnapshot`] while an event's headers are read once.
#[derive(Debug, Default)]
pub(crate) struct BridgeSnapshotBuilder {
    snap: BridgeSnapshot,
    has_uniqueid: bool,
}

impl BridgeSnapshotBuilder {
    /// Takes header `key` (lower case, prefix removed) if it belongs to the
    /// snapshot; the first of repeated headers wins.
    pub(crate) fn accept(
        &mut self,
        key: &[u8],
        v: &str,
        event: &'static str,
    ) -> Result<bool, EventError> {
        let s = &mut self.snap;
        match key {
            b"bridgeuniqueid" => {
                if !self.has_uniqueid {
                    self.has_uniqueid = true;
                    s.uniqueid = Text::from(v);
                }
            }
            b"bridgetype" => set_text(&mut s.bridge_type, v),
            b"bridgetechnology" => set_text(&mut s.technology, v),
            b"bridgecreator" => set_text(&mut s.creator, v),
            b"bridgename" => set_text(&mut s.name, v),
            b"bridgenumchannels" => set_number(&mut s.num_channels, v, event, "BridgeNumChannels")?,
            b"bridgevideosourcemode" => set_text(&mut s.video_source_mode, v),
            b"bridgevideosource" => set_text(&mut s.video_source, v),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The snapshot, or `None` when no `BridgeUniqueid` header was seen.
    pub(crate) fn finish(self) -> Option<BridgeSnapshot> {
        self.has_uniqueid.then_some(self.snap)
    }
}
