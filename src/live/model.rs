//! The live state: channels, bridges, queues, device, extension and
//! endpoint states, as plain values that compare field by field.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::ami::events::Text;
use crate::ChannelState;

/// One channel, as the last event about it (or the sync) described it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Channel {
    /// The channel name (`PJSIP/1000-00000001`, `Local/100@test-…;1`).
    pub name: Text,
    /// `Uniqueid`: the key of the channel in [`State::channels`].
    pub uniqueid: Text,
    /// `Linkedid`: the Uniqueid of the oldest channel of the call.
    pub linkedid: Text,
    /// The channel state.
    pub state: ChannelState,
    /// `CallerIDNum`.
    pub caller_id_num: Text,
    /// `CallerIDName`.
    pub caller_id_name: Text,
    /// `ConnectedLineNum`.
    pub connected_line_num: Text,
    /// `ConnectedLineName`.
    pub connected_line_name: Text,
    /// Dialplan context.
    pub context: Text,
    /// Dialplan extension.
    pub exten: Text,
    /// Dialplan priority.
    pub priority: i64,
    /// The bridge the channel is in, if any.
    pub bridge: Option<Text>,
    /// The values of the variables asked for with
    /// [`LiveBuilder::variables`](super::LiveBuilder::variables) (a
    /// variable never set is absent).
    pub variables: BTreeMap<String, String>,
}

impl Channel {
    /// An empty channel with this Uniqueid (filled in by the snapshot that
    /// follows).
    pub(crate) fn new(uniqueid: Text) -> Self {
        Channel {
            name: Text::default(),
            uniqueid,
            linkedid: Text::default(),
            state: ChannelState::Down,
            caller_id_num: Text::default(),
            caller_id_name: Text::default(),
            connected_line_num: Text::default(),
            connected_line_name: Text::default(),
            context: Text::default(),
            exten: Text::default(),
            priority: 0,
            bridge: None,
            variables: BTreeMap::new(),
        }
    }
}

/// A bridge and the channels in it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bridge {
    /// `BridgeUniqueid`: the key in [`State::bridges`].
    pub id: Text,
    /// `BridgeType` (`basic`, `stasis`, …).
    pub bridge_type: Text,
    /// `BridgeTechnology` (`simple_bridge`, `softmix`, …).
    pub technology: Text,
    /// `BridgeCreator`.
    pub creator: Text,
    /// `BridgeName`.
    pub name: Text,
    /// The Uniqueids of the channels in the bridge.
    pub channels: BTreeSet<Text>,
}

impl Bridge {
    pub(crate) fn new(id: Text) -> Self {
        Bridge {
            id,
            bridge_type: Text::default(),
            technology: Text::default(),
            creator: Text::default(),
            name: Text::default(),
            channels: BTreeSet::new(),
        }
    }
}

/// A queue: its parameters (read at every sync), its members and its
/// waiting callers (kept current by events).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Queue {
    /// The queue name: the key in [`State::queues`].
    pub name: Text,
    /// `Strategy` (`ringall`, `leastrecent`, …).
    pub strategy: Text,
    /// `Max` callers (0: no limit).
    pub max: i64,
    /// `Weight`.
    pub weight: i64,
    /// `ServiceLevel`, in seconds.
    pub service_level: i64,
    /// The members, by interface (`Location`).
    pub members: BTreeMap<Text, QueueMember>,
    /// The callers waiting, by Uniqueid; [`QueueCaller::position`] orders
    /// them (see [`Queue::callers_in_order`]).
    pub callers: BTreeMap<Text, QueueCaller>,
}

impl Queue {
    pub(crate) fn new(name: Text) -> Self {
        Queue {
            name,
            strategy: Text::default(),
            max: 0,
            weight: 0,
            service_level: 0,
            members: BTreeMap::new(),
            callers: BTreeMap::new(),
        }
    }

    /// The waiting callers, first in line first.
    pub fn callers_in_order(&self) -> Vec<&QueueCaller> {
        let mut v: Vec<&QueueCaller> = self.callers.values().collect();
        v.sort_by_key(|c| c.position);
        v
    }
}

/// A queue member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueMember {
    /// The interface called (`Location`, `Interface`): the key in
    /// [`Queue::members`].
    pub interface: Text,
    /// `Name` / `MemberName`.
    pub name: Text,
    /// `StateInterface`: the device whose state is the member's.
    pub state_interface: Text,
    /// `Membership`: `static`, `dynamic` or `realtime`.
    pub membership: Text,
    /// `Penalty`.
    pub penalty: i64,
    /// `Status`: the device state code (1 not in use, 2 in use, …).
    pub status: i64,
    /// `Paused`.
    pub paused: bool,
    /// `PausedReason`.
    pub paused_reason: Text,
    /// `InCall`: the member is on a call from this queue.
    pub in_call: bool,
}

/// A caller waiting in a queue.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct QueueCaller {
    /// The caller's channel Uniqueid.
    pub uniqueid: Text,
    /// The caller's channel name.
    pub channel: Text,
    /// Position in the queue, from 1.
    pub position: i64,
    /// `CallerIDNum`.
    pub caller_id_num: Text,
    /// `CallerIDName`.
    pub caller_id_name: Text,
    /// When the caller joined (as far as this process can tell: the time
    /// the join was seen, or the sync time minus the `Wait` reported).
    pub joined: Instant,
}

impl QueueCaller {
    /// How long the caller has waited so far.
    pub fn wait(&self) -> Duration {
        self.joined.elapsed()
    }
}

/// Equal when everything but [`QueueCaller::joined`] (which two syncs
/// estimate a little differently) is equal.
impl PartialEq for QueueCaller {
    fn eq(&self, o: &Self) -> bool {
        self.uniqueid == o.uniqueid
            && self.channel == o.channel
            && self.position == o.position
            && self.caller_id_num == o.caller_id_num
            && self.caller_id_name == o.caller_id_name
    }
}

impl Eq for QueueCaller {}

/// The state of a hint (an extension whose state follows devices).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtensionState {
    /// `Hint`: the devices the state follows (`PJSIP/1000&Custom:x`).
    pub hint: Text,
    /// `Status`: the extension state code (0 idle, 1 in use, 2 busy, 4
    /// unavailable, 8 ringing, 16 on hold, -1 removed, …).
    pub status: i32,
    /// `StatusText` (`Idle`, `InUse`, …).
    pub status_text: Text,
}

/// A PJSIP endpoint, from `PJSIPShowEndpoints` at every sync (Asterisk
/// sends no event for most of its fields); its `device_state` is also
/// kept current by `DeviceStateChange` for `PJSIP/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// `ObjectName`: the endpoint's name.
    pub name: Text,
    /// `Transport`.
    pub transport: Text,
    /// `Aor`.
    pub aor: Text,
    /// `Contacts`.
    pub contacts: Text,
    /// The device state of `PJSIP/<name>`, as `DeviceStateChange` and
    /// `DeviceStateList` spell it (`NOT_INUSE`, `UNAVAILABLE`, …), or as
    /// `PJSIPShowEndpoints` does (`Not in use`) until the first change.
    pub device_state: Text,
}

/// Everything the model tracks, at one moment: an immutable snapshot
/// ([`Live::snapshot`](super::Live::snapshot)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct State {
    /// Channels by Uniqueid.
    pub channels: BTreeMap<Text, Channel>,
    /// Bridges by `BridgeUniqueid`.
    pub bridges: BTreeMap<Text, Bridge>,
    /// Queues by name.
    pub queues: BTreeMap<Text, Queue>,
    /// Device states by device (`PJSIP/1000`, `Local/agent1@agents`,
    /// `Custom:x`), as Asterisk spells them (`NOT_INUSE`, `INUSE`, …).
    pub device_states: BTreeMap<Text, Text>,
    /// Hint states by (context, extension).
    pub extension_states: BTreeMap<(Text, Text), ExtensionState>,
    /// PJSIP endpoints by name (empty without PJSIP).
    pub endpoints: BTreeMap<Text, Endpoint>,
}

impl State {
    /// The channel called `name`, if any (a linear search; channels are
    /// keyed by Uniqueid).
    pub fn channel_by_name(&self, name: &str) -> Option<&Channel> {
        self.channels.values().find(|c| c.name == name)
    }
}
