//! Live state: what is happening on the PBX now (channels, bridges, queues,
//! device, extension and endpoint states), kept consistent by construction.
//!
//! [`Live::start`] registers its event callback on a [`Manager`], then
//! reads every list action (`CoreShowChannels`, `BridgeList` and
//! `BridgeInfo`, `QueueStatus`, `DeviceStateList`, `ExtensionStateList`,
//! `PJSIPShowEndpoints`, and `Status` for the variables asked for). Events
//! that arrive meanwhile are held back; the lists are applied first, then
//! the held events in order, at the point where a `UserEvent` marker sent
//! after the lists comes back through the event stream. After that, events
//! keep the model current. A reconnection
//! ([`ConnectionState::Reconnected`]) or an event about something the model
//! does not know (a gap) starts a full resync the same way. The ordering
//! argument is in docs/DESIGN.md.
//!
//! [`Live::snapshot`] gives the state at one moment as an immutable
//! `Arc<State>`, from any thread, without waiting for the events being
//! applied (copy-on-write: a write that follows a snapshot copies the state
//! once). [`Live::on_change`] callbacks are told every [`Change`], in order.
//!
//! ```
//! use std::time::Duration;
//! use astrix::ami::{actions::Originate, Manager};
//! use astrix::live::Live;
//! use astrix::testing::AmiServer;
//!
//! let server = AmiServer::start()?;
//! let manager = Manager::connect(server.addr())?;
//! manager.login("admin", "wordpass")?;
//! let live = Live::start(&manager)?;
//! live.on_change(|c| println!("{c:?}"));
//!
//! manager.send_action(&Originate::to_application("Local/100@test", "Wait").data("5"))?;
//! // Both halves of the Local channel, as soon as their events are in.
//! assert!(live.wait_for(Duration::from_secs(5), |s| s.channels.len() == 2));
//! for ch in live.snapshot().channels.values() {
//!     println!("{} {:?} {}@{}", ch.name, ch.state, ch.exten, ch.context);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod change;
mod model;
mod sync;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex, MutexGuard};

pub use change::Change;
pub use model::{
    Bridge, Channel, Endpoint, ExtensionState, Queue, QueueCaller, QueueMember, State,
};

use crate::ami::actions::UserEvent;
use crate::ami::{AmiError, CallbackId, ConnectionState, Manager, Message, WeakManager};
use apply::{Applier, Outcome};

/// Reads the state once from the list actions alone, without following
/// events: what a sync reads (the lists only, not the events around
/// them). `variables` as [`LiveBuilder::variables`]; `timeout` per action.
pub fn read_state(
    manager: &Manager,
    variables: &[String],
    timeout: Duration,
) -> Result<State, AmiError> {
    sync::fetch(manager, variables, timeout)
}

impl State {
    /// Applies one event to this state as [`Live`] does between syncs
    /// (following `variables`), without gap detection or callbacks: for
    /// replaying a recording. True if the event changed what the model
    /// follows or could have.
    pub fn apply_event(&mut self, event: &Message, variables: &[String]) -> bool {
        let Some(kind) = event
            .event_name()
            .and_then(|n| apply::followed(n, !variables.is_empty()))
        else {
            return false;
        };
        Applier {
            state: self,
            variables,
            changes: None,
        }
        .apply_kind(kind, event)
            != Outcome::Ignored
    }
}

/// Why the live state could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// A list action of the initial sync failed. The [`AmiError`] is the
    /// source.
    #[error("initial sync failed")]
    Sync(#[source] AmiError),
    /// The sync thread could not be started.
    #[error("could not start the live sync thread")]
    Thread(#[source] std::io::Error),
}

/// Counters of a [`Live`]'s work, for monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveStats {
    /// Full syncs installed (the first one included).
    pub syncs: u64,
    /// Events applied to the model (held-back ones included).
    pub events: u64,
    /// Gaps detected (each one asks for a resync).
    pub gaps: u64,
    /// Resyncs asked for after a reconnection.
    pub reconnects: u64,
    /// Syncs that failed (retried).
    pub failed_syncs: u64,
}

/// Settings of a [`Live`]; see [`Live::builder`].
#[derive(Clone, Debug)]
pub struct LiveBuilder {
    variables: Vec<String>,
    timeout: Duration,
}

impl LiveBuilder {
    /// Follows these channel variables ([`Channel::variables`]): read with
    /// `Status` at each sync, kept current by `VarSet` (and by
    /// `ChanVariable` headers when manager.conf's `channelvars` names
    /// them).
    pub fn variables<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.variables = names.into_iter().map(Into::into).collect();
        self
    }

    /// How long each list action and the end-of-sync marker may take (10 s
    /// by default).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Registers the callbacks on `manager` (logged in), runs the initial
    /// sync on this thread and starts the thread that runs resyncs.
    pub fn start(self, manager: &Manager) -> Result<Live, LiveError> {
        Live::start_with(self, manager)
    }
}

type ChangeFn = dyn Fn(&Change) + Send + Sync + 'static;

/// What a sync holds while it runs.
struct Pending {
    token: String,
    /// Events that arrived since the sync began, in order.
    held: Vec<Message>,
    /// The lists' state, once read.
    lists: Option<State>,
    /// [`Inner::losses`] when the sync began.
    losses: u64,
}

struct Inner {
    state: Arc<State>,
    pending: Option<Pending>,
    generation: u64,
    /// Connections lost so far.
    losses: u64,
    /// [`Inner::losses`] when the sync installed last began: while it is
    /// behind, the state is stale (events were lost, a resync is due) and
    /// an event about something unknown is no gap.
    synced_losses: u64,
}

impl Inner {
    /// True from a connection loss until a sync begun after it installs.
    fn stale(&self) -> bool {
        self.synced_losses < self.losses
    }
}

/// What the callbacks, the sync thread and the handle share.
struct Core {
    variables: Vec<String>,
    timeout: Duration,
    inner: Mutex<Inner>,
    installed: Condvar,
    /// Taken before the state lock is let go and held while callbacks run,
    /// so that changes are told in the order they were made.
    firing: Mutex<()>,
    listeners: Mutex<Vec<(u64, Arc<ChangeFn>)>>,
    listening: AtomicBool,
    next_id: AtomicU64,
    /// One sync at a time.
    syncing: Mutex<()>,
    requests: Sender<Request>,
    stats: Mutex<LiveStats>,
}

enum Request {
    Resync,
    Stop,
}

/// The live state of one Asterisk, kept current over a [`Manager`]; see
/// the [module documentation](self).
pub struct Live {
    core: Arc<Core>,
    manager: WeakManager,
    callbacks: Vec<CallbackId>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Live {
    /// Settings: variables to follow, timeouts.
    pub fn builder() -> LiveBuilder {
        LiveBuilder {
            variables: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Starts with default settings; see [`LiveBuilder::start`].
    pub fn start(manager: &Manager) -> Result<Live, LiveError> {
        Self::builder().start(manager)
    }

    fn start_with(cfg: LiveBuilder, manager: &Manager) -> Result<Live, LiveError> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let core = Arc::new(Core {
            variables: cfg.variables,
            timeout: cfg.timeout,
            inner: Mutex::new(Inner {
                state: Arc::default(),
                pending: None,
                generation: 0,
                losses: 0,
                synced_losses: 0,
            }),
            installed: Condvar::new(),
            firing: Mutex::new(()),
            listeners: Mutex::new(Vec::new()),
            listening: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            syncing: Mutex::new(()),
            requests: tx,
            stats: Mutex::new(LiveStats::default()),
        });
        // The callbacks first: no event after this point is missed.
        let c = core.clone();
        let on_event = manager.on_any_event(move |m| c.handle(m));
        let c = core.clone();
        let on_state = manager.on_connection_state(move |s| match s {
            ConnectionState::Lost(_) => c.lost(),
            ConnectionState::Reconnected => {
                c.stats.lock().reconnects += 1;
                let _ = c.requests.send(Request::Resync);
            }
        });
        let mut live = Live {
            core: core.clone(),
            manager: manager.downgrade(),
            callbacks: vec![on_event, on_state],
            worker: None,
        };
        core.sync(manager).map_err(LiveError::Sync)?;
        let weak = manager.downgrade();
        let worker = thread::Builder::new()
            .name("astrix-live-sync".into())
            .spawn(move || core.run(rx, weak))
            .map_err(LiveError::Thread)?;
        live.worker = Some(worker);
        Ok(live)
    }

    /// The state now: an immutable snapshot, consistent as of one point of
    /// the event stream. Cheap (an `Arc` clone); the next change copies
    /// the state once.
    pub fn snapshot(&self) -> Arc<State> {
        self.core.inner.lock().state.clone()
    }

    /// Calls `f` with every change, after it is in the snapshot, in order,
    /// on the manager's dispatcher thread (or the sync thread at the end
    /// of a resync). `f` may call [`Live::snapshot`].
    pub fn on_change(&self, f: impl Fn(&Change) + Send + Sync + 'static) -> u64 {
        let id = self.core.next_id.fetch_add(1, Ordering::Relaxed);
        let mut l = self.core.listeners.lock();
        l.push((id, Arc::new(f)));
        self.core.listening.store(true, Ordering::Release);
        id
    }

    /// Unregisters an [`on_change`](Live::on_change) callback; false if it
    /// was not registered.
    pub fn remove_change_callback(&self, id: u64) -> bool {
        let mut l = self.core.listeners.lock();
        let before = l.len();
        l.retain(|(i, _)| *i != id);
        self.core.listening.store(!l.is_empty(), Ordering::Release);
        l.len() != before
    }

    /// Asks for a full resync (run on the sync thread); see
    /// [`Live::generation`] to wait for it.
    pub fn request_resync(&self) {
        let _ = self.core.requests.send(Request::Resync);
    }

    /// The number of syncs installed so far (1 after
    /// [`start`](Live::start)).
    pub fn generation(&self) -> u64 {
        self.core.inner.lock().generation
    }

    /// Waits until a sync later than `generation` is installed, or
    /// `timeout`; true if it was.
    pub fn wait_generation(&self, generation: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut inner = self.core.inner.lock();
        while inner.generation <= generation {
            if self
                .core
                .installed
                .wait_until(&mut inner, deadline)
                .timed_out()
            {
                return inner.generation > generation;
            }
        }
        true
    }

    /// Waits until `ready` holds for the snapshot (checked at each change
    /// and every 10 ms), or `timeout`; true if it did.
    pub fn wait_for(&self, timeout: Duration, ready: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if ready(&self.snapshot()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// True while no sync is under way (events apply as they come).
    pub fn is_synced(&self) -> bool {
        self.core.inner.lock().pending.is_none()
    }

    /// The counters so far.
    pub fn stats(&self) -> LiveStats {
        *self.core.stats.lock()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(m) = self.manager.upgrade() {
            for id in &self.callbacks {
                m.remove_callback(*id);
            }
        }
        let _ = self.core.requests.send(Request::Stop);
        if let Some(w) = self.worker.take() {
            if w.join().is_err() {
                log::error!("live sync thread panicked");
            }
        }
    }
}

impl Core {
    /// The connection is lost: the events until the next connection are
    /// gone. A sync waiting for its marker stops waiting (it will not
    /// come); the resync after the reconnection makes the state whole.
    fn lost(&self) {
        self.inner.lock().losses += 1;
        self.installed.notify_all();
    }

    /// An event from the dispatcher.
    fn handle(&self, m: &Message) {
        if let Some(token) = sync::marker_token(m) {
            let inner = self.inner.lock();
            let ours = inner
                .pending
                .as_ref()
                .is_some_and(|p| p.token == token && p.lists.is_some());
            if ours {
                self.install(inner);
            }
            return;
        }
        let Some(name) = m.event_name() else { return };
        let Some(kind) = apply::followed(name, !self.variables.is_empty()) else {
            return;
        };
        let mut inner = self.inner.lock();
        if let Some(p) = &mut inner.pending {
            p.held.push(m.clone());
            return;
        }
        let listening = self.listening.load(Ordering::Acquire);
        let mut changes = Vec::new();
        let stale = inner.stale();
        let mut outcome = Applier {
            state: Arc::make_mut(&mut inner.state),
            variables: &self.variables,
            changes: listening.then_some(&mut changes),
        }
        .apply_kind(kind, m);
        if stale && outcome == Outcome::Gap {
            // Events were lost with the connection: the resync that
            // follows the reconnection is due anyway.
            outcome = Outcome::Applied;
        }
        {
            let mut s = self.stats.lock();
            match outcome {
                Outcome::Ignored => {}
                Outcome::Applied => s.events += 1,
                Outcome::Gap => {
                    s.events += 1;
                    s.gaps += 1;
                }
            }
        }
        if outcome == Outcome::Gap {
            log::info!("live: {name} about something unknown; resynchronising");
            let _ = self.requests.send(Request::Resync);
        }
        self.fire(inner, changes);
    }

    /// Lets go of the state and tells the listeners, in order.
    fn fire(&self, inner: MutexGuard<'_, Inner>, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let firing = self.firing.lock();
        drop(inner);
        let listeners: Vec<Arc<ChangeFn>> = self
            .listeners
            .lock()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for c in &changes {
            for f in &listeners {
                f(c);
            }
        }
        drop(firing);
    }

    /// Installs the pending sync: the lists, then the held events in order.
    fn install(&self, mut inner: MutexGuard<'_, Inner>) {
        let Some(p) = inner.pending.take() else {
            return;
        };
        let Some(mut state) = p.lists else { return };
        let mut applied = 0;
        for m in &p.held {
            let mut a = Applier {
                state: &mut state,
                variables: &self.variables,
                changes: None,
            };
            if a.apply(m) != Outcome::Ignored {
                applied += 1;
            }
        }
        let mut changes = Vec::new();
        if self.listening.load(Ordering::Acquire) {
            change::diff_states(&inner.state, &state, &mut changes);
            changes.push(Change::Resynced);
        }
        inner.state = Arc::new(state);
        inner.generation += 1;
        inner.synced_losses = inner.synced_losses.max(p.losses);
        {
            let mut s = self.stats.lock();
            s.syncs += 1;
            s.events += applied;
        }
        self.installed.notify_all();
        self.fire(inner, changes);
    }

    /// One full sync, on the calling thread.
    fn sync(&self, manager: &Manager) -> Result<(), AmiError> {
        let _one = self.syncing.lock();
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let token = sync::token(self as *const Core as usize, n);
        let (generation, losses) = {
            let mut inner = self.inner.lock();
            let losses = inner.losses;
            inner.pending = Some(Pending {
                token: token.clone(),
                held: Vec::new(),
                lists: None,
                losses,
            });
            (inner.generation, losses)
        };
        let lists = match sync::fetch(manager, &self.variables, self.timeout) {
            Ok(l) => l,
            Err(e) => {
                // Give up this sync: apply what was held to the old state
                // (best effort until the retry).
                let mut inner = self.inner.lock();
                if let Some(p) = inner.pending.take() {
                    let state = Arc::make_mut(&mut inner.state);
                    for m in &p.held {
                        Applier {
                            state,
                            variables: &self.variables,
                            changes: None,
                        }
                        .apply(m);
                    }
                }
                self.stats.lock().failed_syncs += 1;
                return Err(e);
            }
        };
        if let Some(p) = &mut self.inner.lock().pending {
            p.lists = Some(lists);
        }
        // The marker: when it comes back through the event stream, every
        // event before it has been held, and the dispatcher installs the
        // sync there. Without it (no `user` write permission), install now.
        let marked = manager
            .send_action_timeout(
                &UserEvent::new(sync::MARKER).header("Token", &token),
                self.timeout,
            )
            .is_ok();
        let deadline = Instant::now() + self.timeout;
        let mut inner = self.inner.lock();
        if marked {
            while inner.generation == generation {
                if inner.losses != losses {
                    log::debug!("live: connection lost before the sync marker came back");
                    break;
                }
                if self.installed.wait_until(&mut inner, deadline).timed_out() {
                    log::warn!("live: sync marker not seen; installing the sync without it");
                    break;
                }
            }
        }
        if inner.generation == generation {
            self.install(inner);
        }
        Ok(())
    }

    /// The sync thread: resyncs on request, retried while they fail.
    fn run(&self, rx: Receiver<Request>, manager: WeakManager) {
        let mut wanted = false;
        loop {
            let req = if wanted {
                rx.recv_timeout(Duration::from_secs(1)).ok()
            } else {
                match rx.recv() {
                    Ok(r) => Some(r),
                    Err(_) => return,
                }
            };
            match req {
                Some(Request::Stop) => return,
                Some(Request::Resync) => wanted = true,
                None => {}
            }
            // Requests that piled up meanwhile are served by this sync.
            while let Ok(r) = rx.try_recv() {
                if let Request::Stop = r {
                    return;
                }
            }
            let Some(m) = manager.upgrade() else { return };
            if !m.is_connected() {
                // A reconnection asks again.
                wanted = false;
                continue;
            }
            match self.sync(&m) {
                Ok(()) => wanted = false,
                Err(e) => log::warn!("live: resync failed ({e}); retrying"),
            }
        }
    }
}
