//! AsyncAGI: AGI carried by AMI. `AsyncAGIStart` events start sessions, the
//! `AGI` action sends each command with a `CommandID`, and the matching
//! `AsyncAGIExec` event brings its reply; `AsyncAGIEnd` ends the session.
//!
//! The same [`AgiCommand`] structs run here as over FastAGI and stdin/stdout
//! AGI; a script written against [`AgiExecute`] runs on all three.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};
use regex::Regex;

use super::error::{AgiError, HangupReason};
use super::execute::AgiExecute;
use super::protocol::{
    encode_command, finish_command, parse_environment, parse_reply_text, percent_decode,
    AgiCommand, Environment, Limits,
};
use super::router::{Captures, HandlerId, Router};
use crate::ami::{AmiError, CallbackId, Manager, Message, RawAction, WeakManager};
use crate::ErrorChain;

/// What the dispatcher hands a running session.
#[derive(Debug)]
enum Delivery {
    Exec { command_id: String, result: String },
    End,
}

type Handler = dyn Fn(&mut AsyncAgiSession) -> Result<(), AgiError> + Send + Sync;

struct Shared {
    router: Router<Handler>,
    sessions: Mutex<HashMap<String, Sender<Delivery>>>,
    active: AtomicUsize,
    idle: Condvar,
    idle_lock: Mutex<()>,
    next_id: AtomicU64,
    limits: Limits,
    break_at_end: bool,
}

/// Serves AsyncAGI calls (`AGI(agi:async)` in the dialplan) over a
/// [`Manager`].
///
/// Each `AsyncAGIStart` starts a session on a thread of its own, routed
/// like FastAGI: the regexes registered with
/// [`register_script_handler`](AsyncAgiServer::register_script_handler) are
/// tried in order against the script of `agi_request` (`async` for
/// `AGI(agi:async)`), then the default handler. Handlers may block as long
/// as they like: the manager's other callbacks go on. When a handler
/// returns while the channel is still in AsyncAGI, `ASYNCAGI BREAK` hands
/// the channel back to the dialplan.
///
/// ```
/// use astrix::agi::commands::{Answer, SetVariable};
/// use astrix::agi::AsyncAgiServer;
/// use astrix::ami::Manager;
/// use astrix::testing::AmiServer;
/// use std::time::Duration;
///
/// let asterisk = AmiServer::start()?;
/// let manager = Manager::connect(asterisk.addr())?;
/// manager.login("admin", "wordpass")?;
/// let server = AsyncAgiServer::new(&manager);
/// server.set_default_handler(|agi| {
///     agi.execute(&Answer)?;
///     let args = agi.environment().args().join(",");
///     agi.execute(&SetVariable::new("ASTRIX_ARGS", args))?;
///     Ok(())
/// });
/// let channel = asterisk.start_async_agi(&["a", "b"]);
/// assert!(server.wait_idle(1, Duration::from_secs(5)));
/// assert_eq!(asterisk.channel_variable(&channel, "ASTRIX_ARGS").as_deref(), Some("a,b"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AsyncAgiServer {
    manager: WeakManager,
    shared: Arc<Shared>,
    callbacks: Vec<CallbackId>,
    served: Arc<AtomicU64>,
}

impl std::fmt::Debug for AsyncAgiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncAgiServer")
            .field("active", &self.active_calls())
            .finish_non_exhaustive()
    }
}

impl AsyncAgiServer {
    /// Starts serving AsyncAGI on `manager`: registers callbacks for
    /// `AsyncAGIStart`, `AsyncAGIExec`, `AsyncAGIEnd` and, for Asterisk
    /// before 12, `AsyncAGI` with `SubEvent: Start|Exec|End`. They are
    /// removed when the server is dropped.
    pub fn new(manager: &Manager) -> AsyncAgiServer {
        Self::with_limits(manager, Limits::default())
    }

    /// [`AsyncAgiServer::new`] with limits for the environment and replies.
    pub fn with_limits(manager: &Manager, limits: Limits) -> AsyncAgiServer {
        let shared = Arc::new(Shared {
            router: Router::new(),
            sessions: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            idle: Condvar::new(),
            idle_lock: Mutex::new(()),
            next_id: AtomicU64::new(1),
            limits,
            break_at_end: true,
        });
        let served = Arc::new(AtomicU64::new(0));
        let weak_mgr = manager.downgrade();
        let mut callbacks = Vec::new();
        for name in ["AsyncAGIStart", "AsyncAGIExec", "AsyncAGIEnd", "AsyncAGI"] {
            let s = Arc::downgrade(&shared);
            let m = weak_mgr.clone();
            let served = served.clone();
            callbacks.push(manager.on_event(name, move |e| {
                if let Some(shared) = s.upgrade() {
                    on_event(&shared, &m, &served, e);
                }
            }));
        }
        AsyncAgiServer {
            manager: weak_mgr,
            shared,
            callbacks,
            served,
        }
    }

    /// Routes sessions whose script matches `pattern` to `handler`;
    /// handlers are tried in the order registered. Patterns are anchored
    /// at the script's start and one handler is kept per pattern, as for
    /// [`FastAgiServer::register_script_handler`](crate::agi::FastAgiServer::register_script_handler).
    pub fn register_script_handler<F>(
        &self,
        pattern: &str,
        handler: F,
    ) -> Result<HandlerId, regex::Error>
    where
        F: Fn(&mut AsyncAgiSession) -> Result<(), AgiError> + Send + Sync + 'static,
    {
        Ok(self
            .shared
            .router
            .add(Regex::new(pattern)?, Arc::new(handler)))
    }

    /// Removes a handler; false if it was not registered.
    pub fn unregister_script_handler(&self, id: HandlerId) -> bool {
        self.shared.router.remove(id)
    }

    /// Removes the handler registered with `pattern` (the same text);
    /// false if none was.
    pub fn unregister_script_pattern(&self, pattern: &str) -> bool {
        self.shared.router.remove_pattern(pattern)
    }

    /// Removes every routed handler (the default handler stays).
    pub fn clear_script_handlers(&self) {
        self.shared.router.clear();
    }

    /// The handler for sessions no regex matches. Without one, such a
    /// session is handed back to the dialplan at once (`ASYNCAGI BREAK`)
    /// and logged.
    pub fn set_default_handler<F>(&self, handler: F)
    where
        F: Fn(&mut AsyncAgiSession) -> Result<(), AgiError> + Send + Sync + 'static,
    {
        self.shared.router.set_default(Some(Arc::new(handler)));
    }

    /// Number of sessions running now.
    pub fn active_calls(&self) -> usize {
        self.shared.active.load(Ordering::Acquire)
    }

    /// Number of sessions finished so far.
    pub fn calls_served(&self) -> u64 {
        self.served.load(Ordering::Acquire)
    }

    /// Waits until at least `served` sessions have finished and none is
    /// running, or `timeout`; true if so.
    pub fn wait_idle(&self, served: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.shared.idle_lock.lock();
        loop {
            if self.active_calls() == 0 && self.calls_served() >= served {
                return true;
            }
            if self.shared.idle.wait_until(&mut g, deadline).timed_out() {
                return self.active_calls() == 0 && self.calls_served() >= served;
            }
        }
    }
}

impl Drop for AsyncAgiServer {
    fn drop(&mut self) {
        if let Some(m) = self.manager.upgrade() {
            for id in &self.callbacks {
                m.remove_callback(*id);
            }
        }
    }
}

/// Which step of a session an event is, in either spelling.
fn step(e: &Message) -> Option<&'static str> {
    let name = e.event_name()?;
    let sub = if name.eq_ignore_ascii_case("AsyncAGI") {
        e.get("SubEvent")?
    } else {
        name.get(8..)?
    };
    ["Start", "Exec", "End"]
        .into_iter()
        .find(|s| sub.eq_ignore_ascii_case(s))
}

fn on_event(shared: &Arc<Shared>, manager: &WeakManager, served: &Arc<AtomicU64>, e: &Message) {
    let Some(channel) = e.get("Channel") else {
        log::warn!("AsyncAGI event without a Channel header");
        return;
    };
    match step(e) {
        Some("Start") => start(shared, manager, served, channel, e),
        Some("Exec") => {
            let command_id = e.get("CommandID").unwrap_or("").to_owned();
            let result = percent_decode(e.get("Result").unwrap_or(""), false);
            let tx = shared.sessions.lock().get(channel).cloned();
            match tx {
                Some(tx) => {
                    let _ = tx.send(Delivery::Exec { command_id, result });
                }
                None => log::warn!(
                    "AsyncAGIExec for {channel} (CommandID {command_id:?}) with no session of ours"
                ),
            }
        }
        Some("End") => {
            if let Some(tx) = shared.sessions.lock().remove(channel) {
                let _ = tx.send(Delivery::End);
            }
        }
        _ => {}
    }
}

fn start(
    shared: &Arc<Shared>,
    manager: &WeakManager,
    served: &Arc<AtomicU64>,
    channel: &str,
    e: &Message,
) {
    let Some(manager) = manager.upgrade() else {
        return;
    };
    let mut env_text = percent_decode(e.get("Env").unwrap_or(""), false);
    if !env_text.ends_with("\n\n") {
        env_text.push_str(if env_text.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        });
    }
    let env = match parse_environment(env_text.as_bytes(), &shared.limits) {
        Ok(Some((env, _))) => env,
        Ok(None) => Environment::default(),
        Err(err) => {
            log::warn!(
                "AsyncAGIStart on {channel}: bad environment ({err}); handing the channel back"
            );
            Environment::default()
        }
    };
    let script = env.script().path().to_owned();
    let routed = shared.router.route(&script);
    let (tx, rx) = crossbeam_channel::unbounded();
    shared.sessions.lock().insert(channel.to_owned(), tx);
    shared.active.fetch_add(1, Ordering::AcqRel);
    let mut session = AsyncAgiSession {
        manager,
        channel: channel.to_owned(),
        env,
        rx,
        ended: false,
        captures: Captures::default(),
        shared: Arc::downgrade(shared),
        command_timeout: None,
        limits: shared.limits,
    };
    let shared2 = shared.clone();
    let served = served.clone();
    let spawned = thread::Builder::new()
        .name("astrix-asyncagi".into())
        .spawn(move || {
            match routed {
                Some((handler, captures)) => {
                    session.captures = captures;
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        handler(&mut session)
                    }));
                    match outcome {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) if e.is_hangup() => {
                            log::debug!("AsyncAGI {}: {e}", session.channel)
                        }
                        Ok(Err(e)) => log::warn!(
                            "AsyncAGI handler for {}: {}",
                            session.channel,
                            ErrorChain(&e)
                        ),
                        Err(_) => log::error!("AsyncAGI handler for {} panicked", session.channel),
                    }
                }
                None => log::warn!(
                    "AsyncAGI on {}: no handler for script {script:?}; back to the dialplan",
                    session.channel
                ),
            }
            if shared2.break_at_end && !session.ended {
                let _ = session.execute(&super::commands::AsyncAgiBreak);
            }
            shared2.sessions.lock().remove(&session.channel);
            drop(session);
            served.fetch_add(1, Ordering::AcqRel);
            shared2.active.fetch_sub(1, Ordering::AcqRel);
            let _g = shared2.idle_lock.lock();
            shared2.idle.notify_all();
        });
    if let Err(err) = spawned {
        log::error!("AsyncAGI on {channel}: cannot start a thread: {err}");
        shared.sessions.lock().remove(channel);
        shared.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One AsyncAGI call, as its handler sees it.
pub struct AsyncAgiSession {
    manager: Manager,
    channel: String,
    env: Environment,
    rx: Receiver<Delivery>,
    ended: bool,
    captures: Captures,
    shared: Weak<Shared>,
    command_timeout: Option<Duration>,
    limits: Limits,
}

impl std::fmt::Debug for AsyncAgiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncAgiSession")
            .field("channel", &self.channel)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl AsyncAgiSession {
    /// The channel the session runs on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The decoded `agi_*` environment of `AsyncAGIStart`.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// The positional arguments (`agi_arg_N`).
    pub fn args(&self) -> &[String] {
        self.env.args()
    }

    /// The captures of the handler's regex on the script.
    pub fn captures(&self) -> &Captures {
        &self.captures
    }

    /// The manager the session runs over.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Bounds how long one command may wait for its `AsyncAGIExec`
    /// (default: no bound, as `EXEC Dial` may last a whole call; the wait
    /// still ends at once if the session or the connection ends).
    pub fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.command_timeout = timeout;
    }

    /// True once `AsyncAGIEnd` has arrived (or the channel is gone).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Sends `command` in an AMI `AGI` action and waits for the
    /// `AsyncAGIExec` with its `CommandID`; returns the typed output.
    ///
    /// Fails with [`AgiError::Hangup`]`(AsyncAgiEnd)` once the session has
    /// ended (also when it ends while the command waits), with
    /// [`AgiError::InvalidArgument`] before anything is sent for an
    /// argument with CR/LF, and with [`AgiError::Io`] when the AMI
    /// connection fails.
    pub fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        if self.ended {
            return Err(AgiError::Hangup(HangupReason::AsyncAgiEnd));
        }
        let line = encode_command(command)?;
        let n = self
            .shared
            .upgrade()
            .map(|s| s.next_id.fetch_add(1, Ordering::Relaxed))
            .unwrap_or(0);
        let command_id = format!("astrix-agi-{}-{n}", std::process::id());
        let action = RawAction::new("AGI")
            .header("Channel", &self.channel)
            .header("Command", &line)
            .header("CommandID", &command_id);
        match self.manager.send_action(&action) {
            Ok(_) => {}
            Err(AmiError::ActionFailed(r)) => {
                // "Channel … does not exist." once the session is over.
                log::debug!(
                    "AGI action on {} refused: {:?}",
                    self.channel,
                    r.message_text()
                );
                self.ended = true;
                return Err(AgiError::Hangup(HangupReason::AsyncAgiEnd));
            }
            Err(e) => return Err(ami_error(e)),
        }
        let deadline = self.command_timeout.map(|t| Instant::now() + t);
        loop {
            let wait = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(500)),
                None => Duration::from_millis(500),
            };
            match self.rx.recv_timeout(wait) {
                Ok(Delivery::Exec {
                    command_id: id,
                    result,
                }) => {
                    if !id.eq_ignore_ascii_case(&command_id) {
                        log::warn!(
                            "AsyncAGIExec on {} for unknown CommandID {id:?} (waiting for {command_id})",
                            self.channel
                        );
                        continue;
                    }
                    let reply = parse_reply_text(&result, &self.limits)?;
                    return finish_command(command, reply);
                }
                Ok(Delivery::End) | Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Err(AgiError::Hangup(HangupReason::AsyncAgiEnd));
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(reason) = self.manager.disconnect_reason() {
                        self.ended = true;
                        return Err(ami_error(AmiError::Disconnected(reason)));
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(AgiError::Timeout);
                    }
                }
            }
        }
    }
}

impl AgiExecute for AsyncAgiSession {
    fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        AsyncAgiSession::execute(self, command)
    }
    fn environment(&self) -> &Environment {
        &self.env
    }
}

fn ami_error(e: AmiError) -> AgiError {
    AgiError::Io(Arc::new(std::io::Error::other(e)))
}
