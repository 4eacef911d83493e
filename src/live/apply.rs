//! Applying one event to a [`State`]: every channel event carries the
//! channel's whole snapshot, so applying is an upsert (the newest snapshot
//! wins), a removal (`Hangup`), or a set operation (bridge and queue
//! membership); see docs/DESIGN.md for why that makes a sync converge.
//!
//! Cheap by construction: the event name is matched without allocating,
//! the headers the model uses are read in one pass as `&str` borrowed from
//! the message (no typed parse), and entries are updated in place; the old
//! value is cloned only when a change callback listens.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::time::Instant;

use super::change::Change;
use super::change::{Bridges, Callers, Channels, Devices, Hints, Members, Report};
use super::model::{Bridge, Channel, ExtensionState, Queue, QueueCaller, QueueMember, State};
use crate::ami::events::Text;
use crate::ami::Message;
use crate::ChannelState;

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

/// The events the model follows, by what applying them does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Newchannel,
    /// `Newstate`, `NewCallerid`, `NewConnectedLine`, `Newexten`: a
    /// channel snapshot.
    Channel,
    Hangup,
    Rename,
    VarSet,
    BridgeCreate,
    BridgeEnter,
    BridgeLeave,
    BridgeDestroy,
    BridgeMerge,
    MemberAdded,
    /// `QueueMemberStatus`, `…Pause`, `…Penalty`, `…Ringinuse`.
    MemberChanged,
    MemberRemoved,
    CallerJoin,
    CallerLeave,
    DeviceState,
    ExtensionStatus,
}

/// What an event called `name` does to the model, if anything; `VarSet`
/// only when it follows variables. Checked before the state is touched,
/// so that other events cost no copy of it.
pub(crate) fn followed(name: &str, variables: bool) -> Option<Kind> {
    let mut buf = [0u8; 24];
    Some(match fold(name.as_bytes(), &mut buf) {
        b"newchannel" => Kind::Newchannel,
        b"newstate" | b"newcallerid" | b"newconnectedline" | b"newexten" => Kind::Channel,
        b"hangup" => Kind::Hangup,
        b"rename" => Kind::Rename,
        b"varset" if variables => Kind::VarSet,
        b"bridgecreate" => Kind::BridgeCreate,
        b"bridgeenter" => Kind::BridgeEnter,
        b"bridgeleave" => Kind::BridgeLeave,
        b"bridgedestroy" => Kind::BridgeDestroy,
        b"bridgemerge" => Kind::BridgeMerge,
        b"queuememberadded" => Kind::MemberAdded,
        b"queuememberstatus"
        | b"queuememberpause"
        | b"queuememberpenalty"
        | b"queuememberringinuse" => Kind::MemberChanged,
        b"queuememberremoved" => Kind::MemberRemoved,
        b"queuecallerjoin" => Kind::CallerJoin,
        b"queuecallerleave" => Kind::CallerLeave,
        b"devicestatechange" => Kind::DeviceState,
        b"extensionstatus" => Kind::ExtensionStatus,
        _ => return None,
    })
}

/// The headers the model reads of an event or a list item, borrowed from
/// the message and read in one pass (the first of repeated headers wins).
#[derive(Debug, Default)]
pub(crate) struct Fields<'m> {
    pub(crate) channel: Option<&'m str>,
    pub(crate) uniqueid: Option<&'m str>,
    pub(crate) linkedid: Option<&'m str>,
    pub(crate) channel_state: Option<&'m str>,
    pub(crate) caller_id_num: Option<&'m str>,
    pub(crate) caller_id_name: Option<&'m str>,
    pub(crate) connected_line_num: Option<&'m str>,
    pub(crate) connected_line_name: Option<&'m str>,
    pub(crate) context: Option<&'m str>,
    pub(crate) exten: Option<&'m str>,
    pub(crate) priority: Option<&'m str>,
    /// Some `ChanVariable` header is there (read again only then).
    pub(crate) chan_variables: bool,
    pub(crate) bridge_uniqueid: Option<&'m str>,
    pub(crate) bridge_type: Option<&'m str>,
    pub(crate) bridge_technology: Option<&'m str>,
    pub(crate) bridge_creator: Option<&'m str>,
    pub(crate) bridge_name: Option<&'m str>,
    /// `BridgeId` (CoreShowChannel).
    pub(crate) bridge_id: Option<&'m str>,
    pub(crate) queue: Option<&'m str>,
    pub(crate) position: Option<&'m str>,
    pub(crate) wait: Option<&'m str>,
    /// `Interface` (events) or `Location` (QueueStatus).
    pub(crate) interface: Option<&'m str>,
    /// `MemberName` (events) or `Name` (QueueStatus).
    pub(crate) member_name: Option<&'m str>,
    pub(crate) state_interface: Option<&'m str>,
    pub(crate) membership: Option<&'m str>,
    pub(crate) penalty: Option<&'m str>,
    pub(crate) status: Option<&'m str>,
    pub(crate) paused: Option<&'m str>,
    pub(crate) paused_reason: Option<&'m str>,
    pub(crate) in_call: Option<&'m str>,
    pub(crate) variable: Option<&'m str>,
    pub(crate) value: Option<&'m str>,
    pub(crate) newname: Option<&'m str>,
    pub(crate) device: Option<&'m str>,
    pub(crate) state: Option<&'m str>,
    pub(crate) hint: Option<&'m str>,
    pub(crate) status_text: Option<&'m str>,
}

/// `name` folded for a match against lower-case letters only: every byte
/// OR 0x20, which maps `A`–`Z` to `a`–`z` and no other byte to a letter
/// it is not, so it equals such a pattern exactly when `name` does without
/// regard to ASCII case. Cheaper than lower-casing (no branch per byte).
/// A name longer than the buffer folds to nothing (no pattern is empty).
fn fold<'b>(b: &[u8], buf: &'b mut [u8; 24]) -> &'b [u8] {
    let Some(out) = buf.get_mut(..b.len()) else {
        return &[];
    };
    for (o, c) in out.iter_mut().zip(b) {
        *o = c | 0x20;
    }
    out
}

impl<'m> Fields<'m> {
    /// Reads the headers of `m` the model uses.
    pub(crate) fn read(m: &'m Message) -> Self {
        let mut f = Fields::default();
        let mut buf = [0u8; 24];
        for (name, value) in m.iter_name_bytes() {
            let key = fold(name, &mut buf);
            if let Some(slot) = f.slot(key) {
                if slot.is_none() {
                    *slot = Some(value);
                }
            }
        }
        f
    }

    /// The field of header `key` (folded), by length first so that a
    /// header costs a few fixed-size compares.
    fn slot(&mut self, key: &[u8]) -> Option<&mut Option<&'m str>> {
        Some(match key.len() {
            4 => match key {
                b"hint" => &mut self.hint,
                b"wait" => &mut self.wait,
                b"name" => &mut self.member_name,
                _ => return None,
            },
            5 => match key {
                b"exten" => &mut self.exten,
                b"queue" => &mut self.queue,
                b"value" => &mut self.value,
                b"state" => &mut self.state,
                _ => return None,
            },
            6 => match key {
                b"status" => &mut self.status,
                b"paused" => &mut self.paused,
                b"device" => &mut self.device,
                b"incall" => &mut self.in_call,
                _ => return None,
            },
            7 => match key {
                b"channel" => &mut self.channel,
                b"context" => &mut self.context,
                b"penalty" => &mut self.penalty,
                b"newname" => &mut self.newname,
                _ => return None,
            },
            8 => match key {
                b"uniqueid" => &mut self.uniqueid,
                b"linkedid" => &mut self.linkedid,
                b"priority" => &mut self.priority,
                b"position" => &mut self.position,
                b"location" => &mut self.interface,
                b"variable" => &mut self.variable,
                b"bridgeid" => &mut self.bridge_id,
                _ => return None,
            },
            9 => match key {
                b"interface" => &mut self.interface,
                _ => return None,
            },
            10 => match key {
                b"membership" => &mut self.membership,
                b"membername" => &mut self.member_name,
                b"bridgetype" => &mut self.bridge_type,
                b"bridgename" => &mut self.bridge_name,
                b"statustext" => &mut self.status_text,
                _ => return None,
            },
            11 => match key {
                b"calleridnum" => &mut self.caller_id_num,
                _ => return None,
            },
            12 => match key {
                b"channelstate" => &mut self.channel_state,
                b"calleridname" => &mut self.caller_id_name,
                b"pausedreason" => &mut self.paused_reason,
                b"chanvariable" => {
                    self.chan_variables = true;
                    return None;
                }
                _ => return None,
            },
            13 => match key {
                b"bridgecreator" => &mut self.bridge_creator,
                _ => return None,
            },
            14 => match key {
                b"bridgeuniqueid" => &mut self.bridge_uniqueid,
                b"stateinterface" => &mut self.state_interface,
                _ => return None,
            },
            16 => match key {
                b"connectedlinenum" => &mut self.connected_line_num,
                b"bridgetechnology" => &mut self.bridge_technology,
                _ => return None,
            },
            17 => match key {
                b"connectedlinename" => &mut self.connected_line_name,
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// Applies events to a state, collecting the changes when asked.
pub(crate) struct Applier<'a> {
    pub(crate) state: &'a mut State,
    /// The channel variables to follow.
    pub(crate) variables: &'a [String],
    /// Where to put the changes (`None`: nobody listens, compute none).
    pub(crate) changes: Option<&'a mut Vec<Change>>,
}

type Changes<'a, 'b> = &'a mut Option<&'b mut Vec<Change>>;

/// Edits the entry `key` of `map` in place with `f`, reporting the change
/// (the old value is cloned only when changes are collected); false if
/// there is no such entry.
fn update<K, Q, V, R>(
    map: &mut BTreeMap<K, V>,
    key: &Q,
    how: R,
    changes: Changes<'_, '_>,
    f: impl FnOnce(&mut V),
) -> bool
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
    V: Clone + PartialEq,
    R: Report<V>,
{
    let Some(v) = map.get_mut(key) else {
        return false;
    };
    match changes {
        Some(out) => {
            let old = v.clone();
            f(v);
            if old != *v {
                out.push(how.changed(old, v.clone()));
            }
        }
        None => f(v),
    }
    true
}

/// Inserts a new entry, reporting it.
fn insert<K: Ord, V: Clone, R: Report<V>>(
    map: &mut BTreeMap<K, V>,
    key: K,
    value: V,
    how: R,
    changes: Changes<'_, '_>,
) {
    if let Some(out) = changes {
        out.push(how.added(value.clone()));
    }
    map.insert(key, value);
}

/// Removes the entry `key`, reporting it.
fn remove<K, Q, V, R>(
    map: &mut BTreeMap<K, V>,
    key: &Q,
    how: R,
    changes: Changes<'_, '_>,
) -> Option<V>
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
    V: Clone,
    R: Report<V>,
{
    let v = map.remove(key)?;
    if let Some(out) = changes {
        out.push(how.gone(v.clone()));
    }
    Some(v)
}

/// Sets `dst` to `src` when given and different (no allocation when equal).
fn set(dst: &mut Text, src: Option<&str>) {
    if let Some(v) = src {
        if dst.as_str() != v {
            *dst = Text::from(v);
        }
    }
}

fn number(s: Option<&str>) -> Option<i64> {
    s.and_then(|v| v.trim().parse().ok())
}

/// Copies what a channel snapshot (an event or a `CoreShowChannel`) says
/// into the channel; `ChanVariable` headers are read from `m`.
pub(crate) fn merge_channel(ch: &mut Channel, f: &Fields<'_>, m: &Message, variables: &[String]) {
    set(&mut ch.name, f.channel);
    set(&mut ch.linkedid, f.linkedid);
    if let Some(s) = number(f.channel_state) {
        ch.state = ChannelState::from_code(s);
    }
    set(&mut ch.caller_id_num, f.caller_id_num);
    set(&mut ch.caller_id_name, f.caller_id_name);
    set(&mut ch.connected_line_num, f.connected_line_num);
    set(&mut ch.connected_line_name, f.connected_line_name);
    set(&mut ch.context, f.context);
    set(&mut ch.exten, f.exten);
    if let Some(p) = number(f.priority) {
        ch.priority = p;
    }
    if f.chan_variables && !variables.is_empty() {
        for v in m.get_all("ChanVariable") {
            let (k, val) = v.split_once('=').unwrap_or((v, ""));
            set_variable(ch, variables, k, val);
        }
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
pub(crate) fn merge_bridge(b: &mut Bridge, f: &Fields<'_>) {
    set(&mut b.bridge_type, f.bridge_type);
    set(&mut b.technology, f.bridge_technology);
    set(&mut b.creator, f.bridge_creator);
    set(&mut b.name, f.bridge_name);
}

/// Copies a member's fields (a `QueueMember…` event or list item) into
/// the member.
pub(crate) fn merge_member(m: &mut QueueMember, f: &Fields<'_>) {
    set(&mut m.interface, f.interface);
    set(&mut m.name, f.member_name);
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

/// A waiting caller (a `QueueCallerJoin` or a `QueueEntry`), at `position`,
/// joined at `joined`; `None` without a Uniqueid.
pub(crate) fn caller(f: &Fields<'_>, position: i64, joined: Instant) -> Option<QueueCaller> {
    Some(QueueCaller {
        uniqueid: Text::from(f.uniqueid?),
        channel: Text::from(f.channel.unwrap_or_default()),
        position,
        caller_id_num: Text::from(f.caller_id_num.unwrap_or_default()),
        caller_id_name: Text::from(f.caller_id_name.unwrap_or_default()),
        joined,
    })
}

/// A hint's state and key (an `ExtensionStatus` event or list item);
/// `None` without a context or an extension.
pub(crate) fn extension_state(f: &Fields<'_>) -> Option<((Text, Text), ExtensionState)> {
    let key = (Text::from(f.context?), Text::from(f.exten?));
    let status = f.status.and_then(|s| s.trim().parse().ok()).unwrap_or(-1);
    let state = ExtensionState {
        hint: Text::from(f.hint.unwrap_or_default()),
        status,
        status_text: Text::from(f.status_text.unwrap_or_default()),
    };
    Some((key, state))
}

/// The queue `name`, created if unknown; false if it was.
pub(crate) fn queue_entry<'s>(state: &'s mut State, name: &str) -> (&'s mut Queue, bool) {
    let known = state.queues.contains_key(name);
    let q = state
        .queues
        .entry(Text::from(name))
        .or_insert_with(|| Queue::new(Text::from(name)));
    (q, known)
}

/// True for a Local channel's device (`Local/…`): Local channels do not
/// cache their device state (core_local.c), so DeviceStateList never
/// lists them, and the model leaves them out too.
fn is_local_device(device: &str) -> bool {
    device
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("Local/"))
}

impl Applier<'_> {
    /// Applies one event.
    pub(crate) fn apply(&mut self, m: &Message) -> Outcome {
        match m.event_name().and_then(|n| followed(n, true)) {
            Some(kind) => self.apply_kind(kind, m),
            None => Outcome::Ignored,
        }
    }

    /// Applies one event of a kind the model follows.
    pub(crate) fn apply_kind(&mut self, kind: Kind, m: &Message) -> Outcome {
        let f = Fields::read(m);
        match kind {
            Kind::Newchannel => self.upsert_channel(&f, m, true),
            Kind::Channel => self.upsert_channel(&f, m, false),
            Kind::Hangup => match f.uniqueid {
                Some(uid) => self.hangup(uid),
                None => Outcome::Ignored,
            },
            Kind::Rename => self.rename(&f),
            Kind::VarSet => self.var_set(&f),
            Kind::BridgeCreate => match f.bridge_uniqueid {
                Some(id) => {
                    self.upsert_bridge(id, &f);
                    Outcome::Applied
                }
                None => Outcome::Ignored,
            },
            Kind::BridgeEnter => self.bridge_enter(&f, m),
            Kind::BridgeLeave => self.bridge_leave(&f, m),
            Kind::BridgeDestroy => match f.bridge_uniqueid {
                Some(id) => self.bridge_destroy(id),
                None => Outcome::Ignored,
            },
            // Two bridges become one: rare enough to resynchronise.
            Kind::BridgeMerge => Outcome::Gap,
            Kind::MemberAdded => self.member(&f, true),
            Kind::MemberChanged => self.member(&f, false),
            Kind::MemberRemoved => self.member_removed(&f),
            Kind::CallerJoin => self.caller_join(&f),
            Kind::CallerLeave => self.caller_leave(&f),
            Kind::DeviceState => self.device_state(&f),
            Kind::ExtensionStatus => self.extension_status(&f),
        }
    }

    /// Upserts a channel from the snapshot of an event; an unknown channel
    /// is a gap unless the event is its `Newchannel`.
    fn upsert_channel(&mut self, f: &Fields<'_>, m: &Message, creates: bool) -> Outcome {
        let (Some(uid), Some(_)) = (f.uniqueid, f.channel) else {
            return Outcome::Ignored;
        };
        let vars = self.variables;
        let channels = &mut self.state.channels;
        if update(channels, uid, Channels, &mut self.changes, |ch| {
            merge_channel(ch, f, m, vars)
        }) {
            return Outcome::Applied;
        }
        let mut ch = Channel::new(Text::from(uid));
        merge_channel(&mut ch, f, m, vars);
        insert(channels, Text::from(uid), ch, Channels, &mut self.changes);
        if creates {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn hangup(&mut self, uniqueid: &str) -> Outcome {
        let gone = remove(
            &mut self.state.channels,
            uniqueid,
            Channels,
            &mut self.changes,
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

    fn rename(&mut self, f: &Fields<'_>) -> Outcome {
        let (Some(uid), Some(new)) = (f.uniqueid, f.newname) else {
            return Outcome::Ignored;
        };
        let known = update(
            &mut self.state.channels,
            uid,
            Channels,
            &mut self.changes,
            |c| set(&mut c.name, Some(new)),
        );
        if known {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn var_set(&mut self, f: &Fields<'_>) -> Outcome {
        let (Some(uid), Some(variable)) = (f.uniqueid, f.variable) else {
            return Outcome::Ignored;
        };
        let vars = self.variables;
        if !vars.iter().any(|v| v.eq_ignore_ascii_case(variable)) {
            return Outcome::Ignored;
        }
        // Dialplan may set variables on a channel being torn down: an
        // unknown channel is ignored.
        let value = f.value.unwrap_or_default();
        update(
            &mut self.state.channels,
            uid,
            Channels,
            &mut self.changes,
            |ch| set_variable(ch, vars, variable, value),
        );
        Outcome::Applied
    }

    fn edit_bridge(&mut self, id: &str, f: impl FnOnce(&mut Bridge)) {
        update(&mut self.state.bridges, id, Bridges, &mut self.changes, f);
    }

    /// Creates or updates a bridge from its snapshot; false if it was
    /// unknown.
    fn upsert_bridge(&mut self, id: &str, f: &Fields<'_>) -> bool {
        let bridges = &mut self.state.bridges;
        if update(bridges, id, Bridges, &mut self.changes, |b| {
            merge_bridge(b, f)
        }) {
            return true;
        }
        let mut b = Bridge::new(Text::from(id));
        merge_bridge(&mut b, f);
        insert(bridges, Text::from(id), b, Bridges, &mut self.changes);
        false
    }

    fn set_channel_bridge(&mut self, uniqueid: &str, f: impl FnOnce(&mut Option<Text>)) {
        update(
            &mut self.state.channels,
            uniqueid,
            Channels,
            &mut self.changes,
            |c| f(&mut c.bridge),
        );
    }

    fn bridge_enter(&mut self, f: &Fields<'_>, m: &Message) -> Outcome {
        let (Some(id), Some(uid), Some(_)) = (f.bridge_uniqueid, f.uniqueid, f.channel) else {
            return Outcome::Ignored;
        };
        let bridge_known = self.upsert_bridge(id, f);
        let channel = self.upsert_channel(f, m, false);
        self.edit_bridge(id, |bridge| {
            if !bridge.channels.contains(uid) {
                bridge.channels.insert(Text::from(uid));
            }
        });
        self.set_channel_bridge(uid, |slot| {
            if slot.as_deref() != Some(id) {
                *slot = Some(Text::from(id));
            }
        });
        if bridge_known && channel == Outcome::Applied {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    /// A channel leaves a bridge. A bridge or channel the model does not
    /// know is not created (the lists, newer than the events, may have
    /// seen them go): the channel is out of the bridge either way.
    fn bridge_leave(&mut self, f: &Fields<'_>, m: &Message) -> Outcome {
        let (Some(id), Some(uid)) = (f.bridge_uniqueid, f.uniqueid) else {
            return Outcome::Ignored;
        };
        self.edit_bridge(id, |bridge| {
            merge_bridge(bridge, f);
            bridge.channels.remove(uid);
        });
        let vars = self.variables;
        update(
            &mut self.state.channels,
            uid,
            Channels,
            &mut self.changes,
            |ch| {
                merge_channel(ch, f, m, vars);
                if ch.bridge.as_deref() == Some(id) {
                    ch.bridge = None;
                }
            },
        );
        Outcome::Applied
    }

    fn bridge_destroy(&mut self, id: &str) -> Outcome {
        let gone = remove(&mut self.state.bridges, id, Bridges, &mut self.changes);
        // Unknown: gone by the lists already (see `hangup`).
        let Some(b) = gone else {
            return Outcome::Applied;
        };
        for uid in &b.channels {
            self.set_channel_bridge(uid, |slot| {
                if slot.as_deref() == Some(id) {
                    *slot = None;
                }
            });
        }
        Outcome::Applied
    }

    fn member(&mut self, f: &Fields<'_>, creates: bool) -> Outcome {
        let (Some(queue), Some(interface)) = (f.queue, f.interface) else {
            return Outcome::Ignored;
        };
        let (q, queue_known) = queue_entry(&mut *self.state, queue);
        let changes = &mut self.changes;
        let known = update(&mut q.members, interface, Members(&q.name), changes, |m| {
            merge_member(m, f)
        });
        if !known {
            let mut m = QueueMember::default();
            merge_member(&mut m, f);
            insert(
                &mut q.members,
                Text::from(interface),
                m,
                Members(&q.name),
                changes,
            );
        }
        if queue_known && (known || creates) {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn member_removed(&mut self, f: &Fields<'_>) -> Outcome {
        let (Some(queue), Some(interface)) = (f.queue, f.interface) else {
            return Outcome::Ignored;
        };
        let (q, queue_known) = queue_entry(&mut *self.state, queue);
        remove(
            &mut q.members,
            interface,
            Members(&q.name),
            &mut self.changes,
        );
        // An unknown member is gone already (see `hangup`).
        if queue_known {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    /// Moves every caller of `q` from `position` on by `by`, reporting it.
    fn shift_callers(q: &mut Queue, from: i64, by: i64, changes: Changes<'_, '_>) {
        for c in q.callers.values_mut() {
            if c.position < from {
                continue;
            }
            let old = changes.is_some().then(|| c.clone());
            c.position += by;
            if let (Some(out), Some(old)) = (changes.as_mut(), old) {
                out.push(Callers(&q.name).changed(old, c.clone()));
            }
        }
    }

    fn caller_join(&mut self, f: &Fields<'_>) -> Outcome {
        let (Some(queue), Some(uid), Some(_)) = (f.queue, f.uniqueid, f.channel) else {
            return Outcome::Ignored;
        };
        let position = number(f.position).unwrap_or(1);
        let (q, queue_known) = queue_entry(&mut *self.state, queue);
        // Joined again (an event of before the sync, replayed after it):
        // take the old place out first.
        if let Some(old) = q.callers.remove(uid) {
            Self::shift_callers(q, old.position + 1, -1, &mut None);
        }
        Self::shift_callers(q, position, 1, &mut self.changes);
        if let Some(c) = caller(f, position, Instant::now()) {
            insert(
                &mut q.callers,
                Text::from(uid),
                c,
                Callers(&q.name),
                &mut self.changes,
            );
        }
        if queue_known {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn caller_leave(&mut self, f: &Fields<'_>) -> Outcome {
        let (Some(queue), Some(uid)) = (f.queue, f.uniqueid) else {
            return Outcome::Ignored;
        };
        let (q, queue_known) = queue_entry(&mut *self.state, queue);
        let gone = remove(&mut q.callers, uid, Callers(&q.name), &mut self.changes);
        // An unknown caller has left already (see `hangup`).
        if let Some(c) = &gone {
            Self::shift_callers(q, c.position + 1, -1, &mut self.changes);
        }
        if queue_known {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }

    fn device_state(&mut self, f: &Fields<'_>) -> Outcome {
        let (Some(device), Some(state)) = (f.device, f.state) else {
            return Outcome::Ignored;
        };
        if is_local_device(device) {
            return Outcome::Ignored;
        }
        if let Some(name) = device.strip_prefix("PJSIP/") {
            if let Some(ep) = self.state.endpoints.get_mut(name) {
                set(&mut ep.device_state, Some(state));
            }
        }
        let map = &mut self.state.device_states;
        let how = || Devices(Text::from(device));
        if !update(map, device, how(), &mut self.changes, |s| {
            set(s, Some(state))
        }) {
            insert(
                map,
                Text::from(device),
                Text::from(state),
                how(),
                &mut self.changes,
            );
        }
        Outcome::Applied
    }

    fn extension_status(&mut self, f: &Fields<'_>) -> Outcome {
        let Some((key, new)) = extension_state(f) else {
            return Outcome::Ignored;
        };
        let map = &mut self.state.extension_states;
        let mut new = Some(new);
        update(map, &key, Hints(key.clone()), &mut self.changes, |s| {
            if let Some(n) = new.take() {
                *s = n;
            }
        });
        if let Some(n) = new {
            insert(map, key.clone(), n, Hints(key), &mut self.changes);
        }
        Outcome::Applied
    }
}
