//! Applying one event to a [`State`]: every channel event carries the
//! channel's whole snapshot, so applying is an upsert (the newest snapshot
//! wins), a removal (`Hangup`), or a set operation (bridge and queue
//! membership); see docs/DESIGN.md for why that makes a sync converge.

use std::collections::BTreeMap;
use std::time::Instant;

use super::change::Change;
use super::change::{entry_change, Bridges, Callers, Channels, Devices, Hints, Members, Report};
use super::model::{Bridge, Channel, ExtensionState, Queue, QueueCaller, QueueMember, State};
use crate::ami::events::{
    BridgeCreate, BridgeDestroy, BridgeEnter, BridgeLeave, BridgeSnapshot, ChannelSnapshot,
    DeviceStateChange, Event, ExtensionStatus, Hangup, NewCallerid, NewConnectedLine, NewExten,
    Newchannel, Newstate, QueueCallerJoin, QueueCallerLeave, QueueMemberAdded, QueueMemberPause,
    QueueMemberPenalty, QueueMemberRemoved, QueueMemberRinginuse, QueueMemberStatus, Text, VarSet,
};
use crate::ami::Message;

/// What applying an event found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Not an event the model follows (or one it could not read).
    Ignored,
    /// Applied.
    Applied,
    /// Applied as far as possible, but it names something the model does
    /// not know (a channel without its `Newchannel`, …): events were missed.
    Gap,
}

/// The events the model follows (lower case); `VarSet` only when it follows
/// variables.
const FOLLOWED: &[&str] = &[
    "newchannel",
    "newstate",
    "newcallerid",
    "newconnectedline",
    "newexten",
    "hangup",
    "rename",
    "bridgecreate",
    "bridgeenter",
    "bridgeleave",
    "bridgedestroy",
    "bridgemerge",
    "queuememberadded",
    "queuememberstatus",
    "queuememberpause",
    "queuememberpenalty",
    "queuememberringinuse",
    "queuememberremoved",
    "queuecallerjoin",
    "queuecallerleave",
    "devicestatechange",
    "extensionstatus",
];

/// True when an event called `name` may change the model (checked before
/// the state is touched, so that other events cost no copy of it).
pub(crate) fn follows(name: &str, variables: bool) -> bool {
    FOLLOWED.iter().any(|f| f.eq_ignore_ascii_case(name))
        || (variables && name.eq_ignore_ascii_case("VarSet"))
}

/// Applies events to a state, collecting the changes when asked.
pub(crate) struct Applier<'a> {
    pub(crate) state: &'a mut State,
    /// The channel variables to follow.
    pub(crate) variables: &'a [String],
    /// Where to put the changes (`None`: nobody listens, compute none).
    pub(crate) changes: Option<&'a mut Vec<Change>>,
}

/// Edits the entry `key` of `map` with `f` (which may create or remove
/// it) and reports the change.
fn edit<K: Ord + Clone, V: Clone + PartialEq, R: Report<V>>(
    map: &mut BTreeMap<K, V>,
    key: &K,
    how: R,
    changes: &mut Option<&mut Vec<Change>>,
    f: impl FnOnce(&mut Option<V>),
) {
    let mut slot = map.remove(key);
    let old = changes.as_ref().and(slot.clone());
    f(&mut slot);
    if let Some(out) = changes {
        out.extend(entry_change(old, slot.as_ref(), &how));
    }
    if let Some(v) = slot {
        map.insert(key.clone(), v);
    }
}

/// Copies what a channel snapshot says into the channel.
pub(crate) fn merge_channel(ch: &mut Channel, s: &ChannelSnapshot, variables: &[String]) {
    ch.name.clone_from(&s.channel);
    let set = |dst: &mut Text, src: &Option<Text>| {
        if let Some(v) = src {
            dst.clone_from(v);
        }
    };
    set(&mut ch.linkedid, &s.linkedid);
    if let Some(st) = s.state {
        ch.state = st;
    }
    set(&mut ch.caller_id_num, &s.caller_id_num);
    set(&mut ch.caller_id_name, &s.caller_id_name);
    set(&mut ch.connected_line_num, &s.connected_line_num);
    set(&mut ch.connected_line_name, &s.connected_line_name);
    set(&mut ch.context, &s.context);
    set(&mut ch.exten, &s.exten);
    if let Some(p) = s.priority {
        ch.priority = p;
    }
    for (k, v) in &s.variables {
        set_variable(ch, variables, k, v);
    }
}

/// Records a followed variable (an empty value is an unset variable: AMI
/// cannot tell them apart).
pub(crate) fn set_variable(ch: &mut Channel, variables: &[String], name: &str, value: &str) {
    let Some(k) = variables.iter().find(|v| v.eq_ignore_ascii_case(name)) else {
        return;
    };
    if value.is_empty() {
        ch.variables.remove(k);
    } else if ch.variables.get(k).map(String::as_str) != Some(value) {
        ch.variables.insert(k.clone(), value.to_owned());
    }
}

/// Copies a bridge snapshot's fields into the bridge.
pub(crate) fn merge_bridge(b: &mut Bridge, s: &BridgeSnapshot) {
    let set = |dst: &mut Text, src: &Option<Text>| {
        if let Some(v) = src {
            dst.clone_from(v);
        }
    };
    set(&mut b.bridge_type, &s.bridge_type);
    set(&mut b.technology, &s.technology);
    set(&mut b.creator, &s.creator);
    set(&mut b.name, &s.name);
}

/// The fields every `QueueMember…` event carries.
pub(crate) struct MemberFields<'a> {
    pub(crate) queue: Option<&'a Text>,
    pub(crate) interface: Option<&'a Text>,
    pub(crate) name: Option<&'a Text>,
    pub(crate) state_interface: Option<&'a Text>,
    pub(crate) membership: Option<&'a Text>,
    pub(crate) penalty: Option<&'a str>,
    pub(crate) status: Option<&'a str>,
    pub(crate) paused: Option<&'a str>,
    pub(crate) paused_reason: Option<&'a Text>,
    pub(crate) in_call: Option<&'a str>,
}

macro_rules! member_fields {
    ($($t:ty),*) => {$(
        impl<'a> From<&'a $t> for MemberFields<'a> {
            fn from(e: &'a $t) -> Self {
                MemberFields {
                    queue: e.queue.as_ref(),
                    interface: e.interface.as_ref(),
                    name: e.member_name.as_ref(),
                    state_interface: e.state_interface.as_ref(),
                    membership: e.membership.as_ref(),
                    penalty: e.penalty.as_deref(),
                    status: e.status.as_deref(),
                    paused: e.paused.as_deref(),
                    paused_reason: e.paused_reason.as_ref(),
                    in_call: e.in_call.as_deref(),
                }
            }
        }
    )*};
}
member_fields!(
    QueueMemberAdded,
    QueueMemberStatus,
    QueueMemberPause,
    QueueMemberPenalty,
    QueueMemberRinginuse,
    QueueMemberRemoved
);

fn number(s: Option<&str>) -> Option<i64> {
    s.and_then(|v| v.trim().parse().ok())
}

/// Copies a member's fields into the member.
pub(crate) fn merge_member(m: &mut QueueMember, f: &MemberFields<'_>) {
    let set = |dst: &mut Text, src: Option<&Text>| {
        if let Some(v) = src {
            dst.clone_from(v);
        }
    };
    set(&mut m.interface, f.interface);
    set(&mut m.name, f.name);
    set(&mut m.state_interface, f.state_interface);
    set(&mut m.membership, f.membership);
    set(&mut m.paused_reason, f.paused_reason);
    if let Some(v) = number(f.penalty) {
        m.penalty = v;
    }
    if let Some(v) = number(f.status) {
        m.status = v;
    }
    if let Some(v) = number(f.paused) {
        m.paused = v != 0;
    }
    if let Some(v) = number(f.in_call) {
        m.in_call = v != 0;
    }
}

/// Parses `m` as `E`, logging (without the values) when it does not read.
fn typed<E: Event>(m: &Message) -> Option<E> {
    match E::from_message(m) {
        Ok(e) => Some(e),
        Err(err) => {
            log::debug!("live: {} not applied: {err}", E::NAME);
            None
        }
    }
}

impl Applier<'_> {
    /// Applies one event.
    pub(crate) fn apply(&mut self, m: &Message) -> Outcome {
        let Some(name) = m.event_name() else {
            return Outcome::Ignored;
        };
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "newchannel" => self.snapshot(typed::<Newchannel>(m).map(|e| e.channel), true),
            "newstate" => self.snapshot(typed::<Newstate>(m).map(|e| e.channel), false),
            "newcallerid" => self.snapshot(typed::<NewCallerid>(m).map(|e| e.channel), false),
            "newconnectedline" => {
                self.snapshot(typed::<NewConnectedLine>(m).map(|e| e.channel), false)
            }
            "newexten" => self.snapshot(typed::<NewExten>(m).map(|e| e.channel), false),
            "hangup" => match typed::<Hangup>(m) {
                Some(e) => self.hangup(&e.channel.uniqueid),
                None => Outcome::Ignored,
            },
            "rename" => self.rename(m),
            "varset" => self.var_set(m),
            "bridgecreate" => match typed::<BridgeCreate>(m).and_then(|e| e.bridge) {
                Some(b) => {
                    self.upsert_bridge(&b);
                    Outcome::Applied
                }
                None => Outcome::Ignored,
            },
            "bridgeenter" => match typed::<BridgeEnter>(m) {
                Some(BridgeEnter {
                    channel: Some(c),
                    bridge: Some(b),
                    ..
                }) => self.bridge_enter(&b, &c),
                _ => Outcome::Ignored,
            },
            "bridgeleave" => match typed::<BridgeLeave>(m) {
                Some(BridgeLeave {
                    channel: Some(c),
                    bridge: Some(b),
                    ..
                }) => self.bridge_leave(&b, &c),
                _ => Outcome::Ignored,
            },
            "bridgedestroy" => match typed::<BridgeDestroy>(m).and_then(|e| e.bridge) {
                Some(b) => self.bridge_destroy(&b.uniqueid),
                None => Outcome::Ignored,
            },
            // Two bridges become one: rare enough to resynchronise.
            "bridgemerge" => Outcome::Gap,
            "queuememberadded" => self.member(typed::<QueueMemberAdded>(m).as_ref(), true),
            "queuememberstatus" => self.member(typed::<QueueMemberStatus>(m).as_ref(), false),
            "queuememberpause" => self.member(typed::<QueueMemberPause>(m).as_ref(), false),
            "queuememberpenalty" => self.member(typed::<QueueMemberPenalty>(m).as_ref(), false),
            "queuememberringinuse" => self.member(typed::<QueueMemberRinginuse>(m).as_ref(), false),
            "queuememberremoved" => match typed::<QueueMemberRemoved>(m) {
                Some(e) => self.member_removed(&MemberFields::from(&e)),
                None => Outcome::Ignored,
            },
            "queuecallerjoin" => match typed::<QueueCallerJoin>(m) {
                Some(QueueCallerJoin {
                    channel: Some(c),
                    queue: Some(q),
                    position,
                    ..
                }) => self.caller_join(&q, &c, position.unwrap_or(1)),
                _ => Outcome::Ignored,
            },
            "queuecallerleave" => match typed::<QueueCallerLeave>(m) {
                Some(QueueCallerLeave {
                    channel: Some(c),
                    queue: Some(q),
                    ..
                }) => self.caller_leave(&q, &c.uniqueid),
                _ => Outcome::Ignored,
            },
            "devicestatechange" => match typed::<DeviceStateChange>(m) {
                Some(DeviceStateChange {
                    device: Some(d),
                    state: Some(s),
                    ..
                }) => {
                    // Local channels do not cache their device state
                    // (core_local.c), so DeviceStateList never lists them:
                    // the model leaves them out too.
                    if d.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("Local/")) {
                        return Outcome::Ignored;
                    }
                    self.device_state(d, s);
                    Outcome::Applied
                }
                _ => Outcome::Ignored,
            },
            "extensionstatus" => match typed::<ExtensionStatus>(m) {
                Some(e) => self.extension_status(&e),
                None => Outcome::Ignored,
            },
            _ => Outcome::Ignored,
        }
    }

    /// Upserts a channel from the snapshot of an event; an unknown channel
    /// is a gap unless the event is its `Newchannel`.
    fn snapshot(&mut self, s: Option<ChannelSnapshot>, creates: bool) -> Outcome {
        let Some(s) = s else {
            return Outcome::Ignored;
        };
        self.upsert_channel(&s, creates)
    }

    fn upsert_channel(&mut self, s: &ChannelSnapshot, creates: bool) -> Outcome {
        let mut known = true;
        let vars = self.variables;
        edit(
            &mut self.state.channels,
            &s.uniqueid,
            Channels,
            &mut self.changes,
            |slot| {
                let ch = slot.get_or_insert_with(|| {
                    known = false;
                    Channel::new(s.uniqueid.clone())
                });
                merge_channel(ch, s, vars);
            },
        );
        if known || creates {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn hangup(&mut self, uniqueid: &Text) -> Outcome {
        let mut gone = None;
        edit(
            &mut self.state.channels,
            uniqueid,
            Channels,
            &mut self.changes,
            |slot| gone = slot.take(),
        );
        // Unknown: the lists, newer than the events, no longer had it (its
        // Hangup followed the marker). Nothing to remove: not a gap.
        let Some(ch) = gone else {
            return Outcome::Applied;
        };
        // Asterisk says BridgeLeave first; a model that missed it must not
        // keep a dead channel in a bridge.
        if let Some(b) = &ch.bridge {
            self.edit_bridge(b, |bridge| {
                bridge.channels.remove(uniqueid);
            });
        }
        Outcome::Applied
    }

    fn rename(&mut self, m: &Message) -> Outcome {
        let (Some(uid), Some(new)) = (m.get("Uniqueid"), m.get("Newname")) else {
            return Outcome::Ignored;
        };
        let uid = Text::from(uid);
        if !self.state.channels.contains_key(&uid) {
            return Outcome::Gap;
        }
        edit(
            &mut self.state.channels,
            &uid,
            Channels,
            &mut self.changes,
            |slot| {
                if let Some(c) = slot {
                    c.name = Text::from(new);
                }
            },
        );
        Outcome::Applied
    }

    fn var_set(&mut self, m: &Message) -> Outcome {
        if self.variables.is_empty() {
            return Outcome::Ignored;
        }
        let Some(e) = typed::<VarSet>(m) else {
            return Outcome::Ignored;
        };
        let Some(c) = e.channel else {
            return Outcome::Ignored;
        };
        if !self
            .variables
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&e.variable))
        {
            return Outcome::Ignored;
        }
        if !self.state.channels.contains_key(&c.uniqueid) {
            // Dialplan may set variables on a channel being torn down.
            return Outcome::Ignored;
        }
        let vars = self.variables;
        edit(
            &mut self.state.channels,
            &c.uniqueid,
            Channels,
            &mut self.changes,
            |slot| {
                if let Some(ch) = slot {
                    set_variable(ch, vars, &e.variable, &e.value);
                }
            },
        );
        Outcome::Applied
    }

    fn edit_bridge(&mut self, id: &Text, f: impl FnOnce(&mut Bridge)) {
        edit(
            &mut self.state.bridges,
            id,
            Bridges,
            &mut self.changes,
            |slot| {
                if let Some(b) = slot {
                    f(b);
                }
            },
        );
    }

    /// Creates or updates a bridge from its snapshot; false if it was
    /// unknown.
    fn upsert_bridge(&mut self, s: &BridgeSnapshot) -> bool {
        let mut known = true;
        edit(
            &mut self.state.bridges,
            &s.uniqueid,
            Bridges,
            &mut self.changes,
            |slot| {
                let b = slot.get_or_insert_with(|| {
                    known = false;
                    Bridge::new(s.uniqueid.clone())
                });
                merge_bridge(b, s);
            },
        );
        known
    }

    fn set_channel_bridge(&mut self, uniqueid: &Text, f: impl FnOnce(&mut Option<Text>)) {
        edit(
            &mut self.state.channels,
            uniqueid,
            Channels,
            &mut self.changes,
            |slot| {
                if let Some(c) = slot {
                    f(&mut c.bridge);
                }
            },
        );
    }

    fn bridge_enter(&mut self, b: &BridgeSnapshot, c: &ChannelSnapshot) -> Outcome {
        let bridge_known = self.upsert_bridge(b);
        let channel = self.upsert_channel(c, false);
        self.edit_bridge(&b.uniqueid, |bridge| {
            bridge.channels.insert(c.uniqueid.clone());
        });
        let id = b.uniqueid.clone();
        self.set_channel_bridge(&c.uniqueid, |slot| *slot = Some(id));
        if bridge_known && channel == Outcome::Applied {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    /// A channel leaves a bridge. A bridge or channel the model does not
    /// know is not created (the lists, newer than the events, may have
    /// seen them go): the channel is out of the bridge either way.
    fn bridge_leave(&mut self, b: &BridgeSnapshot, c: &ChannelSnapshot) -> Outcome {
        if self.state.bridges.contains_key(&b.uniqueid) {
            self.upsert_bridge(b);
            self.edit_bridge(&b.uniqueid, |bridge| {
                bridge.channels.remove(&c.uniqueid);
            });
        }
        if self.state.channels.contains_key(&c.uniqueid) {
            self.upsert_channel(c, false);
            self.set_channel_bridge(&c.uniqueid, |slot| {
                if slot.as_ref() == Some(&b.uniqueid) {
                    *slot = None;
                }
            });
        }
        Outcome::Applied
    }

    fn bridge_destroy(&mut self, id: &Text) -> Outcome {
        let mut gone = None;
        edit(
            &mut self.state.bridges,
            id,
            Bridges,
            &mut self.changes,
            |slot| gone = slot.take(),
        );
        // Unknown: gone by the lists already (see `hangup`).
        let Some(b) = gone else {
            return Outcome::Applied;
        };
        for uid in &b.channels {
            self.set_channel_bridge(uid, |slot| {
                if slot.as_ref() == Some(id) {
                    *slot = None;
                }
            });
        }
        Outcome::Applied
    }

    /// The queue `name`, created if unknown; false if it was.
    fn queue(&mut self, name: &Text) -> (&mut Queue, bool) {
        let known = self.state.queues.contains_key(name);
        let q = self
            .state
            .queues
            .entry(name.clone())
            .or_insert_with(|| Queue::new(name.clone()));
        (q, known)
    }

    fn member<'e, E>(&mut self, e: Option<&'e E>, creates: bool) -> Outcome
    where
        MemberFields<'e>: From<&'e E>,
    {
        let Some(e) = e else {
            return Outcome::Ignored;
        };
        let f = MemberFields::from(e);
        let (Some(queue), Some(interface)) = (f.queue, f.interface) else {
            return Outcome::Ignored;
        };
        let mut changes = self.changes.take();
        let (q, queue_known) = self.queue(queue);
        let mut known = true;
        edit(
            &mut q.members,
            interface,
            Members(queue),
            &mut changes,
            |slot| {
                let m = slot.get_or_insert_with(|| {
                    known = false;
                    QueueMember::default()
                });
                merge_member(m, &f);
            },
        );
        self.changes = changes;
        if queue_known && (known || creates) {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn member_removed(&mut self, f: &MemberFields<'_>) -> Outcome {
        let (Some(queue), Some(interface)) = (f.queue, f.interface) else {
            return Outcome::Ignored;
        };
        let mut changes = self.changes.take();
        let (q, queue_known) = self.queue(queue);
        edit(
            &mut q.members,
            interface,
            Members(queue),
            &mut changes,
            |slot| *slot = None,
        );
        self.changes = changes;
        // An unknown member is gone already (see `hangup`).
        if queue_known {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    /// Moves every caller of `q` from `position` on by `by`, reporting it.
    fn shift_callers(q: &mut Queue, from: i64, by: i64, changes: &mut Option<&mut Vec<Change>>) {
        let name = q.name.clone();
        let moved: Vec<Text> = q
            .callers
            .values()
            .filter(|c| c.position >= from)
            .map(|c| c.uniqueid.clone())
            .collect();
        for uid in moved {
            edit(&mut q.callers, &uid, Callers(&name), changes, |slot| {
                if let Some(c) = slot {
                    c.position += by;
                }
            });
        }
    }

    fn caller_join(&mut self, queue: &Text, c: &ChannelSnapshot, position: i64) -> Outcome {
        let mut changes = self.changes.take();
        let (q, queue_known) = self.queue(queue);
        // Joined again (an event of before the sync, replayed after it):
        // take the old place out first.
        if let Some(old) = q.callers.remove(&c.uniqueid) {
            Self::shift_callers(q, old.position + 1, -1, &mut None);
        }
        Self::shift_callers(q, position, 1, &mut changes);
        edit(
            &mut q.callers,
            &c.uniqueid,
            Callers(queue),
            &mut changes,
            |slot| {
                *slot = Some(QueueCaller {
                    uniqueid: c.uniqueid.clone(),
                    channel: c.channel.clone(),
                    position,
                    caller_id_num: c.caller_id_num.clone().unwrap_or_default(),
                    caller_id_name: c.caller_id_name.clone().unwrap_or_default(),
                    joined: Instant::now(),
                })
            },
        );
        self.changes = changes;
        if queue_known {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn caller_leave(&mut self, queue: &Text, uniqueid: &Text) -> Outcome {
        let mut changes = self.changes.take();
        let (q, queue_known) = self.queue(queue);
        let mut gone = None;
        edit(
            &mut q.callers,
            uniqueid,
            Callers(queue),
            &mut changes,
            |slot| gone = slot.take(),
        );
        if let Some(c) = &gone {
            Self::shift_callers(q, c.position + 1, -1, &mut changes);
        }
        self.changes = changes;
        // An unknown caller has left already (see `hangup`).
        if queue_known {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn device_state(&mut self, device: Text, state: Text) {
        if let Some(name) = device.strip_prefix("PJSIP/") {
            if let Some(ep) = self.state.endpoints.get_mut(name) {
                ep.device_state.clone_from(&state);
            }
        }
        edit(
            &mut self.state.device_states,
            &device.clone(),
            Devices(device),
            &mut self.changes,
            |slot| *slot = Some(state),
        );
    }

    fn extension_status(&mut self, e: &ExtensionStatus) -> Outcome {
        let (Some(context), Some(exten)) = (&e.context, &e.exten) else {
            return Outcome::Ignored;
        };
        let key = (context.clone(), exten.clone());
        let new = ExtensionState {
            hint: e.hint.clone().unwrap_or_default(),
            status: e.status().ok().flatten().unwrap_or(-1),
            status_text: e.status_text.clone().unwrap_or_default(),
        };
        edit(
            &mut self.state.extension_states,
            &key.clone(),
            Hints(key),
            &mut self.changes,
            |slot| *slot = Some(new),
        );
        Outcome::Applied
    }
}
