//! Event callbacks: the registry, and the dispatcher thread that runs them
//! off the WebSocket reader, so that a callback can make REST calls (or
//! block) without stalling the socket or deadlocking.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::client::Client;
use super::error::AriError;
use super::events::Event;
use super::objects::ObjectRef;
use crate::util::guarded;

/// Identifies a registered callback, for [`Client::remove_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallbackId(u64);

/// The state of the event WebSocket, reported to
/// [`Client::on_connection_state`] callbacks.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The WebSocket is open and the applications are registered.
    Connected,
    /// The WebSocket died (the reason says how). With a reconnect policy,
    /// attempts follow; without one, the client's events end here and
    /// [`Client::wait_closed`] returns the error.
    Lost(String),
    /// A new WebSocket is open and the applications are registered again.
    /// Events of the gap are gone: resynchronise here (list channels and
    /// bridges).
    Reconnected,
    /// Reconnecting was given up after the policy's `max_attempts`.
    GaveUp(String),
}

/// The kind of object a per-object callback is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ObjectKind {
    Channel,
    Bridge,
    Playback,
    LiveRecording,
    Endpoint,
}

impl ObjectKind {
    /// The kind, for messages (`"channel"`).
    pub(crate) fn noun(self) -> &'static str {
        match self {
            ObjectKind::Channel => "channel",
            ObjectKind::Bridge => "bridge",
            ObjectKind::Playback => "playback",
            ObjectKind::LiveRecording => "live recording",
            ObjectKind::Endpoint => "endpoint",
        }
    }
}

/// An object's kind and id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ObjectKey {
    kind: ObjectKind,
    id: String,
}

impl ObjectKey {
    pub(crate) fn new(kind: ObjectKind, id: &str) -> ObjectKey {
        ObjectKey {
            kind,
            id: id.to_owned(),
        }
    }
}

/// What the reader hands to the dispatcher.
pub(crate) enum Item {
    Event(Box<Event>),
    Error(AriError),
    State(ConnectionState),
}

type EventFn = Arc<dyn Fn(&Client, &Event) + Send + Sync>;
type ObjectFn = Arc<dyn Fn(&Client, ObjectRef<'_>, &Event) + Send + Sync>;
type StateFn = Arc<dyn Fn(&ConnectionState) + Send + Sync>;
type ErrorFn = Arc<dyn Fn(&AriError) + Send + Sync>;

/// How long a channel's callbacks outlive its `StasisEnd` (it may still
/// report `ChannelDestroyed`, or come back into the application).
const LEAVE_GRACE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Tables {
    by_type: HashMap<String, Vec<(u64, EventFn)>>,
    any: Vec<(u64, EventFn)>,
    objects: HashMap<ObjectKey, Vec<(u64, String, ObjectFn)>>,
    /// Which object each per-object subscription belongs to.
    object_of: HashMap<u64, ObjectKey>,
    states: Vec<(u64, StateFn)>,
    errors: Vec<(u64, ErrorFn)>,
    /// Channels that left the application, and when.
    leaving: Vec<(ObjectKey, Instant)>,
}

/// The callbacks of one client.
#[derive(Default)]
pub(crate) struct Registry {
    next: AtomicU64,
    tables: Mutex<Tables>,
    /// Set by `clear`: the events have ended for good, and a callback
    /// registered now is dropped at once (it would never run, and what it
    /// holds, a subscription's sender, would never be released).
    cleared: AtomicBool,
}

impl Registry {
    fn id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The tables, unless the events have ended (then `None`, and the
    /// caller drops its callback).
    fn open_tables(&self) -> Option<parking_lot::MutexGuard<'_, Tables>> {
        let t = self.tables.lock();
        (!self.cleared.load(Ordering::Acquire)).then_some(t)
    }

    /// Drops every callback: the events have ended for good.
    pub(crate) fn clear(&self) {
        let old = {
            let mut t = self.tables.lock();
            self.cleared.store(true, Ordering::Release);
            std::mem::take(&mut *t)
        };
        drop(old);
    }

    pub(crate) fn on_event(&self, event_type: &str, f: EventFn) -> CallbackId {
        let id = self.id();
        let Some(mut t) = self.open_tables() else {
            return CallbackId(id);
        };
        if event_type == "*" {
            t.any.push((id, f));
        } else {
            t.by_type
                .entry(event_type.to_owned())
                .or_default()
                .push((id, f));
        }
        CallbackId(id)
    }

    pub(crate) fn on_object(&self, key: ObjectKey, event_type: &str, f: ObjectFn) -> CallbackId {
        let id = self.id();
        let Some(mut t) = self.open_tables() else {
            return CallbackId(id);
        };
        t.leaving.retain(|(k, _)| *k != key);
        t.object_of.insert(id, key.clone());
        t.objects
            .entry(key)
            .or_default()
            .push((id, event_type.to_owned(), f));
        CallbackId(id)
    }

    pub(crate) fn on_state(&self, f: StateFn) -> CallbackId {
        let id = self.id();
        if let Some(mut t) = self.open_tables() {
            t.states.push((id, f));
        }
        CallbackId(id)
    }

    pub(crate) fn on_error(&self, f: ErrorFn) -> CallbackId {
        let id = self.id();
        if let Some(mut t) = self.open_tables() {
            t.errors.push((id, f));
        }
        CallbackId(id)
    }

    /// Removes one callback; false if it was not registered (any more).
    pub(crate) fn remove(&self, sub: CallbackId) -> bool {
        let id = sub.0;
        let mut t = self.tables.lock();
        if let Some(key) = t.object_of.remove(&id) {
            if let Some(list) = t.objects.get_mut(&key) {
                list.retain(|(i, _, _)| *i != id);
                if list.is_empty() {
                    t.objects.remove(&key);
                    t.leaving.retain(|(k, _)| *k != key);
                }
            }
            return true;
        }
        let mut found = false;
        for list in t.by_type.values_mut() {
            let before = list.len();
            list.retain(|(i, _)| *i != id);
            found |= list.len() != before;
        }
        t.by_type.retain(|_, l| !l.is_empty());
        let before = t.any.len() + t.states.len() + t.errors.len();
        t.any.retain(|(i, _)| *i != id);
        t.states.retain(|(i, _)| *i != id);
        t.errors.retain(|(i, _)| *i != id);
        found || t.any.len() + t.states.len() + t.errors.len() != before
    }

    /// The number of per-object subscriptions held (for tests of their
    /// cleanup).
    pub(crate) fn object_subscriptions(&self) -> usize {
        self.tables.lock().object_of.len()
    }

    fn drop_object(t: &mut Tables, key: &ObjectKey) {
        if let Some(list) = t.objects.remove(key) {
            for (id, _, _) in list {
                t.object_of.remove(&id);
            }
        }
        t.leaving.retain(|(k, _)| k != key);
    }

    /// Runs the callbacks for one event, then forgets the objects the
    /// event ends.
    pub(crate) fn dispatch_event(&self, client: &Client, event: &Event) {
        let kind = event.event_type();
        let mut calls: Vec<EventFn> = Vec::new();
        let mut object_calls: Vec<(ObjectFn, usize)> = Vec::new();
        let objects = {
            let t = self.tables.lock();
            if let Some(list) = t.by_type.get(kind) {
                calls.extend(list.iter().map(|(_, f)| f.clone()));
            }
            calls.extend(t.any.iter().map(|(_, f)| f.clone()));
            // The objects an event names matter only to per-object
            // subscriptions: without any, the event is not searched.
            if t.objects.is_empty() {
                Vec::new()
            } else {
                let objects = event.objects();
                let mut keys: Vec<ObjectKey> = Vec::with_capacity(objects.len());
                for (i, obj) in objects.iter().enumerate() {
                    let key = obj.key();
                    if keys.contains(&key) {
                        continue;
                    }
                    if let Some(list) = t.objects.get(&key) {
                        for (_, ty, f) in list {
                            if ty == "*" || ty == kind {
                                object_calls.push((f.clone(), i));
                            }
                        }
                    }
                    keys.push(key);
                }
                objects
            }
        };
        for f in calls {
            guarded("ARI", kind, || f(client, event));
        }
        for (f, i) in object_calls {
            guarded("ARI", kind, || f(client, objects[i], event));
        }
        self.after_event(kind, &objects);
    }

    fn after_event(&self, kind: &str, objects: &[ObjectRef<'_>]) {
        let first = match objects.first() {
            Some(o) => o.key(),
            None => return,
        };
        let mut t = self.tables.lock();
        let now = Instant::now();
        match kind {
            "ChannelDestroyed" | "BridgeDestroyed" | "PlaybackFinished" | "RecordingFinished"
            | "RecordingFailed" => Self::drop_object(&mut t, &first),
            "StasisEnd" if t.objects.contains_key(&first) => t.leaving.push((first, now)),
            "StasisStart" => t.leaving.retain(|(k, _)| *k != first),
            _ => {}
        }
        if t.leaving
            .first()
            .is_some_and(|(_, at)| now.duration_since(*at) > LEAVE_GRACE)
        {
            let expired: Vec<ObjectKey> = t
                .leaving
                .iter()
                .filter(|(_, at)| now.duration_since(*at) > LEAVE_GRACE)
                .map(|(k, _)| k.clone())
                .collect();
            for key in expired {
                Self::drop_object(&mut t, &key);
            }
        }
    }

    pub(crate) fn dispatch_state(&self, state: &ConnectionState) {
        let calls: Vec<StateFn> = self
            .tables
            .lock()
            .states
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for f in calls {
            guarded("ARI", "connection state", || f(state));
        }
    }

    pub(crate) fn dispatch_error(&self, error: &AriError) {
        let calls: Vec<ErrorFn> = self
            .tables
            .lock()
            .errors
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        if calls.is_empty() {
            log::warn!("ARI: {}", crate::ErrorChain(error));
        }
        for f in calls {
            guarded("ARI", "error", || f(error));
        }
    }
}
