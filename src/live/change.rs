//! [`Change`]: what a change callback is told, and the one comparison that
//! produces it, for an event (one entry) and a resync (every entry).

use std::collections::BTreeMap;

use super::model::{Bridge, Channel, ExtensionState, QueueCaller, QueueMember, State};
use crate::ami::events::Text;

/// A change in the live state, given to
/// [`Live::on_change`](super::Live::on_change) callbacks after it is in
/// the snapshot. A resync reports what differs between the state before
/// and after it, then [`Change::Resynced`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
// Built once per change and handed out by reference: boxing would cost an
// allocation for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Change {
    /// A new channel.
    ChannelAdded(Channel),
    /// A channel changed (state, caller ID, location, bridge, variable…).
    ChannelChanged {
        /// Before.
        old: Channel,
        /// After.
        new: Channel,
    },
    /// A channel hung up.
    ChannelGone(Channel),
    /// A new bridge.
    BridgeAdded(Bridge),
    /// A bridge changed (mostly: a channel entered or left).
    BridgeChanged {
        /// Before.
        old: Bridge,
        /// After.
        new: Bridge,
    },
    /// A bridge was destroyed.
    BridgeGone(Bridge),
    /// A member was added to a queue.
    MemberAdded {
        /// The queue.
        queue: Text,
        /// The member.
        member: QueueMember,
    },
    /// A queue member changed (status, pause, penalty…).
    MemberChanged {
        /// The queue.
        queue: Text,
        /// Before.
        old: QueueMember,
        /// After.
        new: QueueMember,
    },
    /// A member was removed from a queue.
    MemberRemoved {
        /// The queue.
        queue: Text,
        /// The member.
        member: QueueMember,
    },
    /// A caller joined a queue.
    CallerJoined {
        /// The queue.
        queue: Text,
        /// The caller.
        caller: QueueCaller,
    },
    /// A caller moved in a queue (another left before it).
    CallerMoved {
        /// The queue.
        queue: Text,
        /// The caller, at its new position.
        caller: QueueCaller,
    },
    /// A caller left a queue (answered, abandoned, timed out).
    CallerLeft {
        /// The queue.
        queue: Text,
        /// The caller.
        caller: QueueCaller,
    },
    /// A device state changed (`None`: unknown before, or gone after a
    /// resync).
    DeviceState {
        /// The device.
        device: Text,
        /// Before.
        old: Option<Text>,
        /// After.
        new: Option<Text>,
    },
    /// A hint's state changed.
    ExtensionState {
        /// Context.
        context: Text,
        /// Extension.
        exten: Text,
        /// Before.
        old: Option<ExtensionState>,
        /// After.
        new: Option<ExtensionState>,
    },
    /// A full resync ended (at start, after a reconnection or a gap); the
    /// changes it made were reported just before.
    Resynced,
}

/// How to report one map entry's change.
pub(crate) trait Report<V> {
    fn added(&self, new: V) -> Change;
    fn changed(&self, old: V, new: V) -> Change;
    fn gone(&self, old: V) -> Change;
}

/// The change from `old` to `new` of one entry, if any.
pub(crate) fn entry_change<V: Clone + PartialEq>(
    old: Option<V>,
    new: Option<&V>,
    how: &impl Report<V>,
) -> Option<Change> {
    match (old, new) {
        (None, None) => None,
        (None, Some(n)) => Some(how.added(n.clone())),
        (Some(o), None) => Some(how.gone(o)),
        (Some(o), Some(n)) if o == *n => None,
        (Some(o), Some(n)) => Some(how.changed(o, n.clone())),
    }
}

/// Every entry's change between two maps, in key order.
pub(crate) fn diff_map<K: Ord, V: Clone + PartialEq, R: Report<V>>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
    how: impl Fn(&K) -> R,
    out: &mut Vec<Change>,
) {
    for (k, o) in old {
        out.extend(entry_change(Some(o.clone()), new.get(k), &how(k)));
    }
    for (k, n) in new {
        if !old.contains_key(k) {
            out.extend(entry_change(None, Some(n), &how(k)));
        }
    }
}

pub(crate) struct Channels;
impl Report<Channel> for Channels {
    fn added(&self, new: Channel) -> Change {
        Change::ChannelAdded(new)
    }
    fn changed(&self, old: Channel, new: Channel) -> Change {
        Change::ChannelChanged { old, new }
    }
    fn gone(&self, old: Channel) -> Change {
        Change::ChannelGone(old)
    }
}

pub(crate) struct Bridges;
impl Report<Bridge> for Bridges {
    fn added(&self, new: Bridge) -> Change {
        Change::BridgeAdded(new)
    }
    fn changed(&self, old: Bridge, new: Bridge) -> Change {
        Change::BridgeChanged { old, new }
    }
    fn gone(&self, old: Bridge) -> Change {
        Change::BridgeGone(old)
    }
}

pub(crate) struct Members<'a>(pub(crate) &'a Text);
impl Report<QueueMember> for Members<'_> {
    fn added(&self, member: QueueMember) -> Change {
        Change::MemberAdded {
            queue: self.0.clone(),
            member,
        }
    }
    fn changed(&self, old: QueueMember, new: QueueMember) -> Change {
        Change::MemberChanged {
            queue: self.0.clone(),
            old,
            new,
        }
    }
    fn gone(&self, member: QueueMember) -> Change {
        Change::MemberRemoved {
            queue: self.0.clone(),
            member,
        }
    }
}

pub(crate) struct Callers<'a>(pub(crate) &'a Text);
impl Report<QueueCaller> for Callers<'_> {
    fn added(&self, caller: QueueCaller) -> Change {
        Change::CallerJoined {
            queue: self.0.clone(),
            caller,
        }
    }
    fn changed(&self, _: QueueCaller, caller: QueueCaller) -> Change {
        Change::CallerMoved {
            queue: self.0.clone(),
            caller,
        }
    }
    fn gone(&self, caller: QueueCaller) -> Change {
        Change::CallerLeft {
            queue: self.0.clone(),
            caller,
        }
    }
}

pub(crate) struct Devices(pub(crate) Text);
impl Report<Text> for Devices {
    fn added(&self, new: Text) -> Change {
        self.change(None, Some(new))
    }
    fn changed(&self, old: Text, new: Text) -> Change {
        self.change(Some(old), Some(new))
    }
    fn gone(&self, old: Text) -> Change {
        self.change(Some(old), None)
    }
}
impl Devices {
    fn change(&self, old: Option<Text>, new: Option<Text>) -> Change {
        Change::DeviceState {
            device: self.0.clone(),
            old,
            new,
        }
    }
}

pub(crate) struct Hints(pub(crate) (Text, Text));
impl Report<ExtensionState> for Hints {
    fn added(&self, new: ExtensionState) -> Change {
        self.change(None, Some(new))
    }
    fn changed(&self, old: ExtensionState, new: ExtensionState) -> Change {
        self.change(Some(old), Some(new))
    }
    fn gone(&self, old: ExtensionState) -> Change {
        self.change(Some(old), None)
    }
}
impl Hints {
    fn change(&self, old: Option<ExtensionState>, new: Option<ExtensionState>) -> Change {
        Change::ExtensionState {
            context: self.0 .0.clone(),
            exten: self.0 .1.clone(),
            old,
            new,
        }
    }
}

/// Everything that differs between two states (a resync).
pub(crate) fn diff_states(old: &State, new: &State, out: &mut Vec<Change>) {
    diff_map(&old.channels, &new.channels, |_| Channels, out);
    diff_map(&old.bridges, &new.bridges, |_| Bridges, out);
    let empty = super::model::Queue::new(Text::default());
    let names = old.queues.keys().chain(new.queues.keys());
    for name in names.collect::<std::collections::BTreeSet<_>>() {
        let o = old.queues.get(name).unwrap_or(&empty);
        let n = new.queues.get(name).unwrap_or(&empty);
        diff_map(&o.members, &n.members, |_| Members(name), out);
        diff_map(&o.callers, &n.callers, |_| Callers(name), out);
    }
    diff_map(
        &old.device_states,
        &new.device_states,
        |k| Devices(k.clone()),
        out,
    );
    diff_map(
        &old.extension_states,
        &new.extension_states,
        |k| Hints(k.clone()),
        out,
    );
}
