//! [`FastAgiServer`]: FastAGI over TCP, one thread per call.

mod intake;
mod request;

use std::io::{self, BufReader};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use std::collections::VecDeque;
// std's locks, not parking_lot's: see `crate::util::lock`.
use std::sync::{Condvar, Mutex};

use crate::util::lock;
use crate::ErrorChain;

use super::router::{HandlerId, Router, ScriptRoute};
use regex::Regex;

pub use request::{FastAgiRequest, FastAgiSession, RequestInfo};

use crate::agi::{Agi, AgiError, Environment, Limits};

use intake::{admit, Arrival, DEFAULT_MAX_PENDING};

type Handler = dyn Fn(&mut FastAgiRequest<'_>) -> Result<(), AgiError> + Send + Sync;

#[derive(Debug, Clone)]
struct Config {
    max_connections: usize,
    max_pending: usize,
    backlog: u32,
    environment_timeout: Option<Duration>,
    reply_timeout: Option<Duration>,
    limits: Limits,
    allowed_peers: Option<Vec<IpAddr>>,
}

struct Shared {
    router: Router<Handler>,
    shutdown: AtomicBool,
    active: Mutex<Activity>,
    /// Notified when nothing is active any more.
    idle: Condvar,
    config: Config,
    local_addr: SocketAddr,
    workers: Workers,
    /// The way into the environment thread, once it runs.
    intake: Mutex<Option<crossbeam_channel::Sender<intake::Entry>>>,
}

/// Threads that finished a call and wait a while for the next one, so a
/// busy server does not start a thread (and warm its allocator) per call.
/// Each call still has a thread to itself, and threads never outnumber
/// the connection cap.
struct Workers {
    /// Idle workers and the calls handed to them; both change under this
    /// lock so that no connection is left unclaimed.
    state: Mutex<WorkerState>,
    ready: Condvar,
}

#[derive(Default)]
struct WorkerState {
    idle: usize,
    queue: VecDeque<Job>,
}

/// A connection to handle, with the guard that counts it as active.
struct Job {
    stream: TcpStream,
    peer: SocketAddr,
    env: Environment,
    guard: ActiveGuard,
}

/// How long an idle worker waits for another call before it ends.
const WORKER_IDLE: Duration = Duration::from_secs(10);

/// A FastAGI server could not listen: the addresses tried and why the
/// last one failed. Carried inside the `io::Error` of
/// [`FastAgiServer::bind`] (`get_ref()`/`downcast` it out), whose kind is
/// the operating system's (`AddrInUse`, `PermissionDenied`, …).
#[derive(Debug, thiserror::Error)]
#[error("FastAGI cannot listen on {}: {reason}", list_addrs(.addrs))]
pub struct BindError {
    /// The addresses the name resolved to, tried in order.
    pub addrs: Vec<SocketAddr>,
    /// Why binding failed (the last address's error).
    pub reason: io::Error,
}

fn list_addrs(addrs: &[SocketAddr]) -> String {
    if addrs.is_empty() {
        return "no address (the name resolved to none)".to_owned();
    }
    addrs
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Settings of a [`FastAgiServer`], then [`FastAgiServerBuilder::bind`].
#[derive(Debug, Clone)]
pub struct FastAgiServerBuilder {
    config: Config,
}

impl Default for FastAgiServerBuilder {
    fn default() -> Self {
        FastAgiServerBuilder {
            config: Config {
                max_connections: 512,
                max_pending: DEFAULT_MAX_PENDING,
                backlog: 4096,
                environment_timeout: Some(Duration::from_secs(10)),
                reply_timeout: None,
                limits: Limits::default(),
                allowed_peers: None,
            },
        }
    }
}

impl FastAgiServerBuilder {
    /// The most calls handled at once (default 512). A connection past the
    /// cap is accepted and closed at once, with a warning logged: Asterisk
    /// then sees the AGI fail (`AGISTATUS=FAILURE`) and the dialplan goes on,
    /// instead of calls queueing without bound.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.config.max_connections = n.max(1);
        self
    }

    /// The most connections reading their environment at once (default
    /// 1024). A connection is no call until its environment is whole: until
    /// then it holds no call slot and no thread (one thread reads every
    /// environment). Past this cap a new connection closes the oldest one
    /// still reading its environment, with a warning logged (at most one
    /// every few seconds), so that connections that send half an
    /// environment and stop can't keep Asterisk's calls out.
    pub fn max_pending_environments(mut self, n: usize) -> Self {
        self.config.max_pending = n.max(1);
        self
    }

    /// Serves only connections from these addresses (your Asterisk
    /// servers); any other peer is closed at once, with a warning logged.
    /// Default: every peer (bind to loopback, as the examples do, unless
    /// Asterisk runs elsewhere).
    pub fn allowed_peers(mut self, peers: impl IntoIterator<Item = IpAddr>) -> Self {
        self.config.allowed_peers = Some(peers.into_iter().collect());
        self
    }

    /// How many connections the operating system may hold for the server
    /// before it accepts them (the `listen(2)` backlog; default 4096, which
    /// Linux caps at `net.core.somaxconn`). A burst of calls beyond it waits
    /// for TCP's retransmission, a second or more; std's own listeners use
    /// 128.
    pub fn listen_backlog(mut self, n: u32) -> Self {
        self.config.backlog = n.max(1);
        self
    }

    /// How long a new connection may take to send its whole environment
    /// (default 10 s; `None`: no limit but
    /// [`FastAgiServerBuilder::max_pending_environments`]). Past it the
    /// connection is closed.
    pub fn environment_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.environment_timeout = timeout;
        self
    }

    /// How long a command may wait for Asterisk's reply before failing
    /// with [`AgiError::Timeout`] (default `None`: as long as the command
    /// runs, since `EXEC Dial` or `RECORD FILE` can take minutes; a closed
    /// connection still ends the wait at once).
    pub fn reply_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.reply_timeout = timeout;
        self
    }

    /// Parser limits for every session.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Binds the listening socket (IPv4 or IPv6, e.g. `"127.0.0.1:4573"`,
    /// `"[::1]:0"`). A socket that cannot be bound fails with the
    /// operating system's error kind and a message naming the address
    /// (a [`BindError`] inside the `io::Error`).
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<FastAgiServer> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let listener = listen(&addrs, self.config.backlog).map_err(|reason| {
            let kind = reason.kind();
            io::Error::new(kind, BindError { addrs, reason })
        })?;
        let local_addr = listener.local_addr()?;
        Ok(FastAgiServer {
            listener,
            shared: Arc::new(Shared {
                router: Router::new(),
                shutdown: AtomicBool::new(false),
                active: Mutex::new(Activity::default()),
                idle: Condvar::new(),
                config: self.config,
                local_addr,
                workers: Workers {
                    state: Mutex::new(WorkerState::default()),
                    ready: Condvar::new(),
                },
                intake: Mutex::new(None),
            }),
        })
    }
}

/// A listening socket on the first of `addrs` that can be bound, as
/// `TcpListener::bind` does, but with `backlog`.
fn listen(addrs: &[SocketAddr], backlog: u32) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut last = None;
    for addr in addrs {
        let bound = (|| {
            let socket = Socket::new(
                Domain::for_address(*addr),
                Type::STREAM,
                Some(Protocol::TCP),
            )?;
            #[cfg(unix)]
            socket.set_reuse_address(true)?;
            socket.bind(&(*addr).into())?;
            socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
            Ok(TcpListener::from(socket))
        })();
        match bound {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
}

/// A FastAGI server: Asterisk connects (`AGI(agi://host:port/path?query)`),
/// the script path is matched against the registered regexes in order, and
/// the first match's handler runs the call on its own thread.
///
/// A handler that returns an error or panics ends only its own call (the
/// connection is closed; the error is logged with `log`). A script path no
/// handler matches goes to the default handler; without one, the call is
/// logged and closed without sending anything.
///
/// ```
/// use astrix::agi::{FastAgiServer, commands::{Answer, SetVariable}};
/// use astrix::testing::FastAgiClient;
///
/// let server = FastAgiServer::bind("127.0.0.1:0")?;
/// server.register_script_handler("^demo$", |req| {
///     req.execute(&Answer)?;
///     let name = req.query_value("name").unwrap_or("nobody").to_owned();
///     req.execute(&SetVariable::new("GREETING", format!("hello {name}")))?;
///     Ok(())
/// }).unwrap();
/// let addr = server.local_addr();
/// let shutdown = server.shutdown_handle();
/// let thread = std::thread::spawn(move || server.serve_forever());
///
/// // Play Asterisk towards the server.
/// let call = FastAgiClient::new().script("demo?name=World").run(addr)?;
/// assert_eq!(call.commands, ["ANSWER", "SET VARIABLE GREETING \"hello World\""]);
///
/// shutdown.shutdown();
/// thread.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct FastAgiServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FastAgiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastAgiServer")
            .field("local_addr", &self.shared.local_addr)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl FastAgiServer {
    /// Binds with the default settings (see [`FastAgiServer::builder`]).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<FastAgiServer> {
        FastAgiServerBuilder::default().bind(addr)
    }

    /// Settings: connection cap, timeouts, limits.
    pub fn builder() -> FastAgiServerBuilder {
        FastAgiServerBuilder::default()
    }

    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Adds a handler for script paths matching `pattern` (a regex, tried
    /// in registration order after the handlers registered before it).
    ///
    /// The pattern is anchored at the start of the path, not at its end
    /// (pystrix's `re.match`): `demo` takes `demo`, `demo/x` and
    /// `demonstration`, never `notdemo/x`; write `^demo$` (or `demo$`) for
    /// the path `demo` alone, `demo(/|$)` for it and what lies under it.
    /// The path has no leading `/` (`agi://host/demo` gives `demo`), and an
    /// empty pattern takes every path.
    ///
    /// Registering a pattern already registered (the same text) replaces
    /// its handler, keeping its place and its [`HandlerId`], which is
    /// returned; pystrix too keeps one handler per pattern.
    pub fn register_script_handler<F>(
        &self,
        pattern: &str,
        handler: F,
    ) -> Result<HandlerId, regex::Error>
    where
        F: Fn(&mut FastAgiRequest<'_>) -> Result<(), AgiError> + Send + Sync + 'static,
    {
        Ok(self.register_script_handler_regex(Regex::new(pattern)?, handler))
    }

    /// [`FastAgiServer::register_script_handler`] with a compiled regex
    /// (anchored at the path's start in the same way, whatever its flags).
    pub fn register_script_handler_regex<F>(&self, regex: Regex, handler: F) -> HandlerId
    where
        F: Fn(&mut FastAgiRequest<'_>) -> Result<(), AgiError> + Send + Sync + 'static,
    {
        self.shared.router.add(regex, Arc::new(handler))
    }

    /// Removes a handler; false if it was not registered.
    pub fn unregister_script_handler(&self, id: HandlerId) -> bool {
        self.shared.router.remove(id)
    }

    /// Removes the handler registered with `pattern` (compared as text with
    /// the pattern given to [`FastAgiServer::register_script_handler`]);
    /// false if none was. pystrix's `unregister_script_handler(regex)`.
    pub fn unregister_script_pattern(&self, pattern: &str) -> bool {
        self.shared.router.remove_pattern(pattern)
    }

    /// Which handler a call for `script_path` would run, with the captures
    /// of its pattern (pystrix's `get_script_handler`): a registered route,
    /// the default handler ([`ScriptRoute::is_default`]), or `None` when the
    /// call would be closed unhandled.
    ///
    /// ```
    /// use astrix::agi::FastAgiServer;
    ///
    /// let server = FastAgiServer::bind("127.0.0.1:0")?;
    /// let id = server.register_script_handler(r"ivr/(?P<menu>\w+)", |_| Ok(())).unwrap();
    /// let route = server.script_handler("ivr/main").expect("routed");
    /// assert_eq!(route.id(), Some(id));
    /// assert_eq!(route.captures().name("menu"), Some("main"));
    /// assert!(server.script_handler("old/ivr/main").is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn script_handler(&self, script_path: &str) -> Option<ScriptRoute> {
        self.shared.router.find(script_path).map(|(_, route)| route)
    }

    /// Removes every script handler (not the default handler).
    pub fn clear_script_handlers(&self) {
        self.shared.router.clear();
    }

    /// Sets the handler for script paths no regex matches (its captures
    /// are empty).
    pub fn set_default_handler<F>(&self, handler: F)
    where
        F: Fn(&mut FastAgiRequest<'_>) -> Result<(), AgiError> + Send + Sync + 'static,
    {
        self.shared.router.set_default(Some(Arc::new(handler)));
    }

    /// Removes the default handler: unmatched calls are then logged and
    /// closed.
    pub fn clear_default_handler(&self) {
        self.shared.router.set_default(None);
    }

    /// A handle to stop the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The number of calls being handled now.
    pub fn active_calls(&self) -> usize {
        lock(&self.shared.active).calls
    }

    /// Accepts and handles calls (each on its own thread) until
    /// [`ShutdownHandle::shutdown`]; then returns `Ok(())` without waiting
    /// for running calls (see [`ShutdownHandle::wait`]).
    ///
    /// Accept errors (e.g. out of file descriptors) are retried after a
    /// pause that doubles from 20 ms to 1 s while they go on; one warning
    /// is logged when they start, a reminder at most every 30 s, and a
    /// summary once a connection is accepted again.
    pub fn serve_forever(&self) -> io::Result<()> {
        self.listener.set_nonblocking(false)?;
        let mut failing = AcceptFailures::default();
        while !self.shared.shutdown.load(Ordering::Acquire) {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    failing.recovered();
                    if self.shared.shutdown.load(Ordering::Acquire) {
                        break;
                    }
                    accept_call(&self.shared, stream, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => thread::sleep(failing.failed(&e)),
            }
        }
        Ok(())
    }

    /// Waits up to `timeout` for one connection and starts handling it on
    /// its own thread. Answers `Ok(true)` if one was accepted, `Ok(false)`
    /// on timeout or after shutdown.
    pub fn handle_request(&self, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        self.listener.set_nonblocking(true)?;
        let result = loop {
            if self.shared.shutdown.load(Ordering::Acquire) {
                break Ok(false);
            }
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    accept_call(&self.shared, stream, peer);
                    break Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let now = Instant::now();
                    if now >= deadline {
                        break Ok(false);
                    }
                    thread::sleep((deadline - now).min(Duration::from_millis(5)));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.listener.set_nonblocking(false)?;
        result
    }

    /// Stops accepting and waits up to `grace` for running calls to end;
    /// true if all ended.
    pub fn shutdown(&self, grace: Duration) -> bool {
        let handle = self.shutdown_handle();
        handle.shutdown();
        handle.wait(grace)
    }
}

impl Drop for FastAgiServer {
    /// Stops accepting; does not wait for running calls (they end on their
    /// own threads).
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        self.shared.wake_idle_workers();
    }
}

/// Stops a [`FastAgiServer`] from any thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("local_addr", &self.shared.local_addr)
            .finish()
    }
}

impl ShutdownHandle {
    /// Stops accepting: `serve_forever` returns soon after (it is woken by
    /// a connection to itself). Running calls go on. Never blocks for more
    /// than a short connect attempt.
    pub fn shutdown(&self) {
        if self.shared.shutdown.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.wake_idle_workers();
        let mut addr = self.shared.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            log::debug!("FastAGI shutdown: wake-up connection failed: {e}");
        }
    }

    /// True once shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.shared.shutdown.load(Ordering::Acquire)
    }

    /// Waits up to `timeout` for running calls to end, and for connections
    /// accepted before the shutdown to finish their environment (and their
    /// call); true if none is left.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut active = lock(&self.shared.active);
        while !active.is_idle() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            active = match self.shared.idle.wait_timeout(active, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        true
    }

    /// The number of calls being handled now.
    pub fn active_calls(&self) -> usize {
        lock(&self.shared.active).calls
    }
}

/// What a server is handling: calls, and connections still reading their
/// environment (which are no calls).
#[derive(Default)]
struct Activity {
    calls: usize,
    environments: usize,
}

impl Activity {
    fn is_idle(&self) -> bool {
        self.calls == 0 && self.environments == 0
    }
}

impl Shared {
    /// Wakes the idle workers so that they see the shutdown flag (set
    /// before) and end. Under their lock: a worker checks the flag under
    /// it before it waits, so none misses this.
    fn wake_idle_workers(&self) {
        drop(lock(&self.workers.state));
        self.workers.ready.notify_all();
    }

    /// Counts a connection in (`+1`) or out of (`-1`) the intake.
    fn count_environment(&self, delta: isize) {
        let mut active = lock(&self.active);
        active.environments = active.environments.saturating_add_signed(delta);
        if active.is_idle() {
            self.idle.notify_all();
        }
    }
}

struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut active = lock(&self.0.active);
        active.calls = active.calls.saturating_sub(1);
        if active.is_idle() {
            self.0.idle.notify_all();
        }
    }
}

/// Consecutive accept failures: how long to pause, and what to log.
#[derive(Default)]
struct AcceptFailures {
    count: u64,
    since: Option<Instant>,
    pause: Duration,
    reminder: Throttle,
}

impl AcceptFailures {
    const FIRST_PAUSE: Duration = Duration::from_millis(20);
    const LONGEST_PAUSE: Duration = Duration::from_secs(1);

    /// Counts a failure; answers how long to pause before the next accept.
    fn failed(&mut self, e: &io::Error) -> Duration {
        self.count += 1;
        if self.since.is_none() {
            self.since = Some(Instant::now());
            self.pause = Self::FIRST_PAUSE;
            self.reminder = Throttle::every(Duration::from_secs(30));
            // Starts the reminder's clock.
            let _ = self.reminder.hit();
            log::warn!(
                "FastAGI accept failed: {e}; retrying, less and less often (at most 1 s apart)"
            );
        } else {
            self.pause = (self.pause * 2).min(Self::LONGEST_PAUSE);
            if self.reminder.hit().is_some() {
                log::warn!(
                    "FastAGI accept still failing: {e} ({} failures so far)",
                    self.count
                );
            }
        }
        self.pause
    }

    /// A connection was accepted: says so if accepts had been failing.
    fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            log::warn!(
                "FastAGI accepting again, after {} failed accepts over {:.1} s",
                self.count,
                since.elapsed().as_secs_f64()
            );
            self.count = 0;
        }
    }
}

/// A warning that may repeat fast: logged the first time, then at most
/// once per period, with how many were left out in between.
struct Throttle {
    every: Duration,
    last: Option<Instant>,
    left_out: u64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::every(Duration::from_secs(10))
    }
}

impl Throttle {
    fn every(every: Duration) -> Self {
        Throttle {
            every,
            last: None,
            left_out: 0,
        }
    }

    /// One more occurrence: `Some(how many were left out since the last
    /// one logged)` when this one is to be logged, `None` when it is to be
    /// left out.
    fn hit(&mut self) -> Option<LeftOut> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.left_out += 1;
            return None;
        }
        self.last = Some(now);
        Some(LeftOut(std::mem::take(&mut self.left_out)))
    }
}

/// How many warnings a [`Throttle`] left out, for the end of the next one
/// (nothing when none was).
struct LeftOut(u64);

impl std::fmt::Display for LeftOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " ({n} more like it since the last warning)"),
        }
    }
}

/// A new connection: refused if its peer is not allowed, else handed to
/// the intake to read its environment.
fn accept_call(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    if shared.shutdown.load(Ordering::Acquire) {
        return;
    }
    if let Some(allowed) = &shared.config.allowed_peers {
        let ip = match peer.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if !allowed.contains(&ip) {
            log::warn!("FastAGI: connection from {peer} refused: not an allowed peer");
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
    admit(shared, Arrival { stream, peer });
}

/// A connection whose environment is whole: a call, on a worker thread,
/// unless the calls are at the cap. (A connection accepted before a
/// shutdown is still served, as a call running then is.)
fn spawn_call(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr, env: Environment) {
    {
        let mut active = lock(&shared.active);
        if active.calls >= shared.config.max_connections {
            log::warn!(
                "FastAGI: {} calls running (the cap); closing the connection from {peer}",
                active.calls
            );
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        active.calls += 1;
    }
    let job = Job {
        stream,
        peer,
        env,
        guard: ActiveGuard(Arc::clone(shared)),
    };
    // An idle worker takes it if there is one.
    {
        let mut st = lock(&shared.workers.state);
        if st.idle > 0 {
            st.idle -= 1;
            st.queue.push_back(job);
            drop(st);
            shared.workers.ready.notify_one();
            return;
        }
    }
    let shared = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name("astrix-fastagi".into())
        .spawn(move || worker(&shared, job));
    if let Err(e) = spawned {
        // The closure (and the job's guard in it) was dropped: the count
        // is right.
        log::error!("FastAGI: can't start a thread for {peer}: {e}");
    }
}

/// Waits idle for a call handed over by [`spawn_call`]; `None` after
/// [`WORKER_IDLE`] without one, or once the server stops.
fn next_job(shared: &Shared) -> Option<Job> {
    let deadline = Instant::now() + WORKER_IDLE;
    let mut st = lock(&shared.workers.state);
    st.idle += 1;
    loop {
        // A queued call was counted against the idle workers when it was
        // handed over: whoever takes it, the count is right.
        if let Some(job) = st.queue.pop_front() {
            return Some(job);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || shared.shutdown.load(Ordering::Acquire) {
            st.idle = st.idle.saturating_sub(1);
            return None;
        }
        // No periodic wake-up: with thousands of idle workers (after a
        // wave of calls) it would cost the calls still running.
        // `ShutdownHandle::shutdown` and `Drop` wake them.
        st = match shared.workers.ready.wait_timeout(st, left) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        };
    }
}

/// Runs calls one after another: the first, then those handed over while
/// it waits idle, until it has waited [`WORKER_IDLE`] or the server stops.
fn worker(shared: &Shared, first: Job) {
    let mut job = first;
    loop {
        let Job {
            stream,
            peer,
            env,
            guard,
        } = job;
        run_call(shared, stream, peer, env);
        drop(guard);
        let next = next_job(shared);
        match next {
            Some(j) => job = j,
            None => return,
        }
    }
}

fn run_call(shared: &Shared, stream: TcpStream, peer: SocketAddr, env: Environment) {
    let config = &shared.config;
    let _ = stream.set_nodelay(true);
    if config.reply_timeout.is_some() {
        if let Err(e) = stream.set_read_timeout(config.reply_timeout) {
            log::warn!("FastAGI {peer}: can't set a read timeout: {e}");
        }
    }
    let writer = match stream.try_clone() {
        Ok(w) => w,
        Err(e) => {
            log::warn!("FastAGI {peer}: {e}");
            return;
        }
    };
    let mut agi: FastAgiSession = Agi::with_environment(
        BufReader::with_capacity(4096, stream),
        writer,
        env,
        config.limits,
    );
    let path = agi.environment().script().path().to_owned();
    let Some((handler, captures)) = shared.router.route(&path) else {
        log::warn!("FastAGI {peer}: no handler for script {path:?}; closing the call");
        let _ = agi.writer().shutdown(Shutdown::Both);
        return;
    };
    log::debug!("FastAGI {peer}: script {path:?}");
    let mut request = FastAgiRequest::new(&mut agi, captures, Some(peer));
    match catch_unwind(AssertUnwindSafe(|| handler(&mut request))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.is_hangup() => log::debug!("FastAGI {peer}: script {path:?} ended: {e}"),
        Ok(Err(e)) => log::warn!("FastAGI {peer}: script {path:?} failed: {}", ErrorChain(&e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".to_owned());
            log::error!("FastAGI {peer}: handler for {path:?} panicked: {msg}");
        }
    }
    // Dropping the session closes the connection.
}
