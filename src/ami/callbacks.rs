//! Event callbacks: the registry and the dispatcher thread that runs them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Receiver;
use parking_lot::Mutex;

use super::codec::DecodeError;
use super::error::DisconnectReason;
use super::events::{Event, EventError};
use super::message::Message;
use crate::util::guarded;
use crate::ErrorChain;

/// Identifies a registered callback, for [`crate::ami::Manager::remove_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallbackId(u64);

/// A callback on a message; `C` is the context the dispatcher lends it (the
/// `Manager`), when it can (see [`run_dispatcher`]).
pub(crate) type MessageFn<C> = dyn Fn(&Message, Option<&C>) + Send + Sync + 'static;
/// Name callbacks may fail to read the event as their type.
pub(crate) type NameFn<C> =
    dyn Fn(&Message, Option<&C>) -> Result<(), EventError> + Send + Sync + 'static;
type ErrorFn = dyn Fn(&ProtocolError) + Send + Sync + 'static;
type StateFn = dyn Fn(&ConnectionState) + Send + Sync + 'static;

/// Input from Asterisk that could not be read as intended. Reported to
/// [`crate::ami::Manager::on_protocol_error`] callbacks (and logged), never
/// dropped in silence.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The codec refused a message that no waiting caller claimed. The
    /// [`DecodeError`] is the source.
    #[error("message refused")]
    Decode(#[from] DecodeError),
    /// An event did not parse as the typed event a callback was registered
    /// for. The event still reached the name and catch-all callbacks.
    #[error("{error}")]
    TypedEvent {
        /// Why it did not parse.
        error: EventError,
        /// The event as received.
        message: Message,
    },
}

/// A change in the state of a [`crate::ami::Manager`]'s connection, given to
/// [`crate::ami::Manager::on_connection_state`] callbacks in order with the
/// events.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The connection was lost; waiting callers got this reason. With a
    /// reconnect policy, attempts follow.
    Lost(DisconnectReason),
    /// A new connection is up and logged in again (credentials of the last
    /// login, `Filter`/`Events` actions replayed). Resynchronise here: events
    /// of the gap are gone.
    Reconnected,
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionState::Lost(reason) => write!(f, "lost ({reason})"),
            ConnectionState::Reconnected => f.write_str("reconnected"),
        }
    }
}

/// What the reader hands to the dispatcher.
#[derive(Debug)]
pub(crate) enum Dispatch {
    /// An event for the callbacks.
    Event(Message),
    /// A response nobody waits for.
    Orphan(Message),
    /// A message the decoder refused that belonged to no waiting caller.
    Error(DecodeError),
    /// The connection went down or came back.
    State(ConnectionState),
}

/// The callbacks of one event name.
type Named<C> = Vec<(CallbackId, Arc<NameFn<C>>)>;

struct Registry<C> {
    /// Keys are lower-case event names.
    by_name: HashMap<String, Named<C>>,
    any: Vec<(CallbackId, Arc<MessageFn<C>>)>,
    orphan: Vec<(CallbackId, Arc<MessageFn<C>>)>,
    error: Vec<(CallbackId, Arc<ErrorFn>)>,
    state: Vec<(CallbackId, Arc<StateFn>)>,
}

impl<C> Clone for Registry<C> {
    fn clone(&self) -> Self {
        Registry {
            by_name: self.by_name.clone(),
            any: self.any.clone(),
            orphan: self.orphan.clone(),
            error: self.error.clone(),
            state: self.state.clone(),
        }
    }
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            by_name: HashMap::new(),
            any: Vec::new(),
            orphan: Vec::new(),
            error: Vec::new(),
            state: Vec::new(),
        }
    }
}

impl<C> Registry<C> {
    fn remove(&mut self, id: CallbackId) -> bool {
        let mut found = false;
        for list in self.by_name.values_mut() {
            let n = list.len();
            list.retain(|(i, _)| *i != id);
            found |= list.len() != n;
        }
        self.by_name.retain(|_, l| !l.is_empty());
        for list in [&mut self.any, &mut self.orphan] {
            let n = list.len();
            list.retain(|(i, _)| *i != id);
            found |= list.len() != n;
        }
        let n = self.error.len();
        self.error.retain(|(i, _)| *i != id);
        found |= self.error.len() != n;
        let n = self.state.len();
        self.state.retain(|(i, _)| *i != id);
        found | (self.state.len() != n)
    }
}

/// Copy-on-write callback registry: registering clones it, dispatching reads
/// a snapshot, so a callback may register or remove callbacks freely.
pub(crate) struct Callbacks<C> {
    current: Mutex<Arc<Registry<C>>>,
    version: AtomicU64,
    next_id: AtomicU64,
    /// Set by `clear`: the connection is gone for good, and a callback
    /// registered now is dropped at once (it would never run, and what it
    /// holds would never be released: a manager clone, a subscription's
    /// sender).
    cleared: AtomicBool,
}

impl<C> Default for Callbacks<C> {
    fn default() -> Self {
        Callbacks {
            current: Mutex::new(Arc::new(Registry::default())),
            version: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            cleared: AtomicBool::new(false),
        }
    }
}

impl<C: 'static> Callbacks<C> {
    fn update(&self, f: impl FnOnce(&mut Registry<C>, CallbackId)) -> CallbackId {
        let id = CallbackId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let mut cur = self.current.lock();
        if self.cleared.load(Ordering::Acquire) {
            return id;
        }
        let mut next = (**cur).clone();
        f(&mut next, id);
        *cur = Arc::new(next);
        self.version.fetch_add(1, Ordering::Release);
        id
    }

    pub(crate) fn on_name(&self, name: &str, f: Arc<NameFn<C>>) -> CallbackId {
        let key = name.to_ascii_lowercase();
        self.update(|r, id| r.by_name.entry(key).or_default().push((id, f)))
    }

    pub(crate) fn on_any(&self, f: Arc<MessageFn<C>>) -> CallbackId {
        self.update(|r, id| r.any.push((id, f)))
    }

    pub(crate) fn on_orphan(&self, f: Arc<MessageFn<C>>) -> CallbackId {
        self.update(|r, id| r.orphan.push((id, f)))
    }

    pub(crate) fn on_error(&self, f: Arc<ErrorFn>) -> CallbackId {
        self.update(|r, id| r.error.push((id, f)))
    }

    pub(crate) fn on_state(&self, f: Arc<StateFn>) -> CallbackId {
        self.update(|r, id| r.state.push((id, f)))
    }

    pub(crate) fn on_typed<E: Event>(
        &self,
        f: impl Fn(&E, Option<&C>) + Send + Sync + 'static,
    ) -> CallbackId {
        self.on_name(
            E::NAME,
            Arc::new(move |m: &Message, c: Option<&C>| E::from_message(m).map(|e| f(&e, c))),
        )
    }

    pub(crate) fn remove(&self, id: CallbackId) -> bool {
        let mut cur = self.current.lock();
        let mut next = (**cur).clone();
        let found = next.remove(id);
        if found {
            *cur = Arc::new(next);
            self.version.fetch_add(1, Ordering::Release);
        }
        found
    }

    /// Drops every callback (breaks reference cycles once the connection
    /// is gone).
    pub(crate) fn clear(&self) {
        let mut cur = self.current.lock();
        self.cleared.store(true, Ordering::Release);
        *cur = Arc::new(Registry::default());
        self.version.fetch_add(1, Ordering::Release);
    }

    fn snapshot(&self) -> (u64, Arc<Registry<C>>) {
        let v = self.version.load(Ordering::Acquire);
        (v, self.current.lock().clone())
    }
}

fn lowercase_key<'b>(name: &str, buf: &'b mut [u8; 64]) -> Option<&'b str> {
    let b = name.as_bytes();
    let dst = buf.get_mut(..b.len())?;
    for (d, s) in dst.iter_mut().zip(b) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(dst).ok()
}

/// Runs one item through the callbacks of `reg`, lending them `ctx`.
fn dispatch_one<C>(reg: &Registry<C>, item: &Dispatch, ctx: Option<&C>) {
    match item {
        Dispatch::Event(m) => {
            if !reg.by_name.is_empty() {
                if let Some(name) = m.event_name() {
                    let mut buf = [0u8; 64];
                    let list = match lowercase_key(name, &mut buf) {
                        Some(k) => reg.by_name.get(k),
                        None => reg.by_name.get(&name.to_ascii_lowercase()),
                    };
                    for (_, f) in list.into_iter().flatten() {
                        let mut failed = None;
                        guarded("AMI", "event", || failed = f(m, ctx).err());
                        if let Some(error) = failed {
                            report(
                                reg,
                                &ProtocolError::TypedEvent {
                                    error,
                                    message: m.clone(),
                                },
                            );
                        }
                    }
                }
            }
            for (_, f) in &reg.any {
                guarded("AMI", "catch-all", || f(m, ctx));
            }
        }
        Dispatch::Orphan(m) => {
            if reg.orphan.is_empty() {
                log::debug!(
                    "response with no waiting caller and no orphan handler (ActionID {:?})",
                    m.action_id()
                );
            }
            for (_, f) in &reg.orphan {
                guarded("AMI", "orphan", || f(m, ctx));
            }
        }
        Dispatch::Error(e) => report(reg, &ProtocolError::Decode(e.clone())),
        Dispatch::State(st) => {
            log::info!("AMI connection: {st}");
            for (_, f) in &reg.state {
                guarded("AMI", "connection state", || f(st));
            }
        }
    }
}

fn report<C>(reg: &Registry<C>, e: &ProtocolError) {
    log::warn!("AMI: {}", ErrorChain(e));
    for (_, f) in &reg.error {
        guarded("AMI", "protocol error", || f(e));
    }
}

/// The dispatcher thread's loop: runs batches in order until the reader
/// drops its sender, then returns. `context` is asked once per batch for
/// what the callbacks are lent (the `Manager`, held weakly by the
/// dispatcher so that it never keeps the connection open); `None` once
/// every handle is gone.
pub(crate) fn run_dispatcher<C: 'static>(
    rx: Receiver<Vec<Dispatch>>,
    callbacks: &Callbacks<C>,
    context: impl Fn() -> Option<C>,
    on_batch_done: impl Fn(usize),
) {
    let (mut version, mut reg) = callbacks.snapshot();
    for batch in rx.iter() {
        let ctx = context();
        for item in &batch {
            if callbacks.version.load(Ordering::Acquire) != version {
                (version, reg) = callbacks.snapshot();
            }
            dispatch_one(&reg, item, ctx.as_ref());
        }
        drop(ctx);
        on_batch_done(batch.len());
    }
}
