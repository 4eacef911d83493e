//! [`AmiServer`]: an AMI server emulator on 127.0.0.1, for tests and demos.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::defaults::{answer, World};
use super::permissions::ACTION_CLASSES;
use super::reply::{Reply, Step};
use crate::ami::codec::{Decoder, Frame, Limits};
use crate::ami::{md5_key, Message};
use crate::net::transport::Transport;
#[cfg(feature = "tls")]
use crate::testing::tls_server::ServerTls;
#[cfg(feature = "tls")]
use crate::tls::TlsError;
use crate::Secret;

/// How long a TLS client has to finish its handshake.
#[cfg(feature = "tls")]
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The write timeout of every connection: a client that stops reading
/// cannot block a pushed event (or the emulator's shutdown) for longer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

type Handler = Arc<dyn Fn(&Message) -> Reply + Send + Sync>;

/// A manager user: its secret and its read and write classes, as a
/// `manager.conf` section gives them (`all`, `system`, `call`, …).
#[derive(Clone, Debug)]
struct User {
    name: String,
    secret: Secret,
    read: Vec<String>,
    write: Vec<String>,
}

/// A `manager.conf` class list (`system,call`) as lowercase words.
fn classes(list: &str) -> Vec<String> {
    list.split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect()
}

/// True when `have` grants one of `need` (`all` grants every class).
fn grants(have: &[String], need: &[&str]) -> bool {
    have.iter()
        .any(|h| h == "all" || need.iter().any(|n| h.eq_ignore_ascii_case(n)))
}

/// Whether a connection with read classes `read` gets `event`: one with
/// no `Privilege` goes to all, others as manager.c filters them.
fn may_read(read: &[String], event: &Message) -> bool {
    let Some(privilege) = event.get("Privilege") else {
        return true;
    };
    let need: Vec<&str> = privilege
        .split(',')
        .map(str::trim)
        .filter(|c| !c.eq_ignore_ascii_case("all"))
        .collect();
    need.is_empty() || grants(read, &need)
}

/// Settings for an [`AmiServer`]; see [`AmiServer::builder`].
#[derive(Clone, Debug)]
pub struct AmiServerBuilder {
    users: Vec<User>,
    banner: String,
    md5: bool,
    fully_booted: bool,
    login_failure_delay: Duration,
    #[cfg(feature = "tls")]
    tls: Option<Result<ServerTls, TlsError>>,
}

impl AmiServerBuilder {
    /// Speaks TLS (cargo feature `tls`), as Asterisk does on port 5039,
    /// with the certificate chain `cert_chain_pem` (leaf first) and the
    /// private key `key_pem` (PKCS#8, PKCS#1 or SEC1). A PEM problem is
    /// reported by [`AmiServerBuilder::start`] as an
    /// [`io::ErrorKind::InvalidInput`] error wrapping a
    /// [`TlsError`](crate::tls::TlsError). Each connection does its
    /// handshake on its own thread; one that fails is logged (`debug`)
    /// and closed.
    ///
    /// ```
    /// use astrix::ami::Manager;
    /// use astrix::testing::AmiServer;
    /// use astrix::tls::TlsConfig;
    ///
    /// // A self-signed certificate for 127.0.0.1 (here made with rcgen).
    /// let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    /// let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    ///
    /// let server = AmiServer::builder()
    ///     .tls(cert_pem.as_bytes(), key_pem.as_bytes())
    ///     .start()?;
    /// // Trust that certificate as its own CA.
    /// let tls = TlsConfig::with_ca_pem(cert_pem.as_bytes())?;
    /// let manager = Manager::builder(server.addr()).tls(tls).connect()?;
    /// manager.login("admin", "wordpass")?;
    /// manager.logoff()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Self {
        self.tls = Some(ServerTls::from_pem(cert_chain_pem, key_pem));
        self
    }

    /// The one user that may log in, with every permission (default
    /// `admin` / `wordpass`); replaces every user set before.
    pub fn credentials(mut self, username: &str, secret: &str) -> Self {
        self.users.clear();
        self.user(username, secret, "all", "all")
    }

    /// Adds a user (or replaces the one of that name) with its read and
    /// write classes, written as in `manager.conf` (`"all"`,
    /// `"system,call"`, `""` for none). As manager.c does, an action
    /// needs one of the write classes Asterisk 22 registers it with
    /// (`Originate`: `originate`, `Getvar`: `call` or `reporting`; `Ping`
    /// none) or gets `Response: Error` / `Message: Permission denied`; an
    /// event goes to the users with one of its `Privilege` classes in their
    /// read classes; `FullyBooted` follows a login only with `system`.
    /// Actions scripted with [`AmiServer::on_action`] are answered
    /// whatever the permissions.
    ///
    /// ```
    /// use astrix::ami::{Manager, RawAction};
    /// use astrix::testing::AmiServer;
    ///
    /// let server = AmiServer::builder()
    ///     .user("limited", "limitedpass", "system,call", "system")
    ///     .start()?;
    /// let m = Manager::connect(server.addr())?;
    /// m.login("limited", "limitedpass")?;
    /// let err = m.send_action(&RawAction::new("Getvar").header("Variable", "X")).unwrap_err();
    /// assert_eq!(err.response().and_then(|r| r.message_text()), Some("Permission denied"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn user(mut self, username: &str, secret: &str, read: &str, write: &str) -> Self {
        self.users.retain(|u| u.name != username);
        self.users.push(User {
            name: username.into(),
            secret: Secret::new(secret),
            read: classes(read),
            write: classes(write),
        });
        self
    }

    /// The first line sent (default `Asterisk Call Manager/11.0.0`).
    pub fn banner(mut self, line: &str) -> Self {
        self.banner = line.into();
        self
    }

    /// Whether `Challenge` is answered (default true); when false it gets
    /// `Response: Error`.
    pub fn md5(mut self, yes: bool) -> Self {
        self.md5 = yes;
        self
    }

    /// Whether `FullyBooted` follows a successful login (default true).
    pub fn fully_booted(mut self, yes: bool) -> Self {
        self.fully_booted = yes;
        self
    }

    /// How long a refused login waits before its error (Asterisk: 1 s;
    /// default 0 here). A refused login closes the connection, as in
    /// Asterisk.
    pub fn login_failure_delay(mut self, d: Duration) -> Self {
        self.login_failure_delay = d;
        self
    }

    /// Binds 127.0.0.1 on a free port and starts accepting connections.
    pub fn start(self) -> io::Result<AmiServer> {
        #[cfg(feature = "tls")]
        let tls = match &self.tls {
            Some(Ok(t)) => Some(t.clone()),
            Some(Err(e)) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e.clone())),
            None => None,
        };
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1_795_418_474);
        let shared = Arc::new(Shared {
            cfg: self,
            handlers: Mutex::new(HashMap::new()),
            actions: Mutex::new(Vec::new()),
            action_cond: Condvar::new(),
            conns: Mutex::new(Vec::new()),
            world: Mutex::new(World {
                started,
                ..World::default()
            }),
            stop: AtomicBool::new(false),
            next_conn: AtomicU64::new(0),
            #[cfg(feature = "tls")]
            tls,
        });
        let s = shared.clone();
        let accept = thread::Builder::new()
            .name("astrix-amiserver".into())
            .spawn(move || accept_loop(listener, s))?;
        Ok(AmiServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }
}

struct Conn {
    id: u64,
    writer: Arc<Mutex<Transport>>,
    /// The socket, to shut it down without waiting for the writer's lock.
    socket: TcpStream,
    logged_in: Arc<AtomicBool>,
    events_on: Arc<AtomicBool>,
    read: Arc<Mutex<Vec<String>>>,
}

struct Shared {
    cfg: AmiServerBuilder,
    handlers: Mutex<HashMap<String, Handler>>,
    actions: Mutex<Vec<Message>>,
    action_cond: Condvar,
    conns: Mutex<Vec<Conn>>,
    world: Mutex<World>,
    stop: AtomicBool,
    next_conn: AtomicU64,
    #[cfg(feature = "tls")]
    tls: Option<ServerTls>,
}

/// An AMI server emulator in the spirit of pyst's astemu: it greets with a
/// banner, checks plain and MD5 logins, answers common actions like a small
/// Asterisk would (Ping, Command with `Output:` lines, CoreShowChannels as
/// an EventList, Originate with a believable event sequence, Getvar/Setvar,
/// Hangup, Status, UserEvent), and lets a test script replies, push events,
/// inject faults and read back every action it received.
///
/// Users (default `admin` / `wordpass`, every class) and their read and
/// write classes are set with [`AmiServerBuilder::user`]; an action outside
/// them gets `Permission denied`, as in manager.c, and so does any action
/// but Login, Challenge and Logoff before a login. A refused login gets
/// `Authentication failed` and the connection closes. Originated channels
/// are named like Asterisk's (`PJSIP/100-00000002`; a Local channel has two
/// halves, `Local/100@test-00000002;1` and `;2`, that end with cause 0
/// `Unknown`, as on Asterisk 22).
///
/// It does not model the dialplan (beyond a few extensions of the test
/// dialplan: a `Dial`, a queue call, transfers of a bridged channel),
/// media, the events Asterisk sends besides Newchannel / Newstate / Hangup
/// / OriginateResponse for an originate (OriginateResponse only for
/// `Async: true`, as manager.c), ACLs or event filters; see
/// [the module](crate::testing).
///
/// It binds 127.0.0.1 on port 0; [`AmiServer::addr`] says where. Dropping
/// it closes every connection and stops its threads.
///
/// ```
/// use astrix::ami::{Manager, Message, RawAction};
/// use astrix::testing::{AmiServer, Reply};
///
/// let server = AmiServer::start()?;
/// server.on_action("QueueStatus", |_| Reply::error("No queues"));
/// let m = Manager::connect(server.addr())?;
/// m.login("admin", "wordpass")?;
/// let err = m.send_action(&RawAction::new("QueueStatus")).unwrap_err();
/// assert_eq!(err.response().and_then(|r| r.message_text()), Some("No queues"));
/// assert!(server.actions().iter().any(|a| a.get("Action") == Some("QueueStatus")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AmiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AmiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmiServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl AmiServer {
    /// Settings, starting from the defaults.
    pub fn builder() -> AmiServerBuilder {
        AmiServerBuilder {
            users: Vec::new(),
            banner: "Asterisk Call Manager/11.0.0".into(),
            md5: true,
            fully_booted: true,
            login_failure_delay: Duration::ZERO,
            #[cfg(feature = "tls")]
            tls: None,
        }
        .credentials("admin", "wordpass")
    }

    /// A server with the default settings (user `admin`, secret `wordpass`).
    pub fn start() -> io::Result<AmiServer> {
        Self::builder().start()
    }

    /// The address it listens on, as `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The address it listens on.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers every action called `name` (ASCII case ignored) with what
    /// `f` returns, instead of the built-in answer. Replaces an earlier
    /// handler for the same name. Login, Challenge and Logoff can be
    /// scripted too.
    pub fn on_action(&self, name: &str, f: impl Fn(&Message) -> Reply + Send + Sync + 'static) {
        self.shared
            .handlers
            .lock()
            .insert(name.to_ascii_lowercase(), Arc::new(f));
    }

    /// Goes back to the built-in answer for `name`.
    pub fn clear_action(&self, name: &str) {
        self.shared
            .handlers
            .lock()
            .remove(&name.to_ascii_lowercase());
    }

    /// Sends an event to every connection that is logged in with events on.
    pub fn push_event(&self, event: Message) {
        broadcast(&self.shared, &event);
    }

    /// Sends raw bytes to every connection (logged in or not).
    pub fn send_raw(&self, bytes: &[u8]) {
        for w in writers(&self.shared, |_| true) {
            let _ = w.lock().write_all(bytes);
        }
    }

    /// Closes every connection now (over TLS without `close_notify`: the
    /// connection is cut). Never waits for a writer.
    pub fn close_connections(&self) {
        for c in self.shared.conns.lock().drain(..) {
            let _ = c.socket.shutdown(Shutdown::Both);
        }
    }

    /// Number of open connections.
    pub fn connections(&self) -> usize {
        self.shared.conns.lock().len()
    }

    /// Every action received so far, in order, on all connections.
    pub fn actions(&self) -> Vec<Message> {
        self.shared.actions.lock().clone()
    }

    /// Forgets the actions received so far (a long-running test keeps its
    /// memory flat this way).
    pub fn clear_actions(&self) {
        self.shared.actions.lock().clear();
    }

    /// Waits until an action called `name` has been received (counting
    /// those received before), up to `timeout`; returns the latest one.
    pub fn wait_for_action(&self, name: &str, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        let mut a = self.shared.actions.lock();
        loop {
            if let Some(m) = a.iter().rev().find(|m| {
                m.get("Action")
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            }) {
                return Some(m.clone());
            }
            if self
                .shared
                .action_cond
                .wait_until(&mut a, deadline)
                .timed_out()
            {
                return None;
            }
        }
    }

    /// Puts a new answered channel into AsyncAGI, as `AGI(agi:async,ARGS)`
    /// in the dialplan would: sends `AsyncAGIStart` (with the URI-encoded
    /// environment) to every connection with events on, and answers the
    /// channel's `AGI` actions with `AsyncAGIExec` events, replying like
    /// `res_agi`. `ASYNCAGI BREAK` or `HANGUP` ends the session
    /// (`AsyncAGIEnd`). Returns the channel's name.
    pub fn start_async_agi(&self, args: &[&str]) -> String {
        let (name, start) = self.shared.world.lock().start_async_agi(args);
        broadcast(&self.shared, &start);
        name
    }

    /// A variable of an emulated channel: set by `Setvar`, by Originate's
    /// `Variable`, or by AGI `SET VARIABLE` in an AsyncAGI session.
    pub fn channel_variable(&self, channel: &str, name: &str) -> Option<String> {
        let w = self.shared.world.lock();
        w.async_agi
            .get(channel)
            .or_else(|| w.async_done.get(channel))
            .and_then(|m| m.vars.get(name).cloned())
            .or_else(|| {
                w.channels
                    .iter()
                    .find(|c| c.name == channel)
                    .and_then(|c| c.vars.get(name).cloned())
            })
    }

    /// Names of the channels the emulator holds (from Originate).
    pub fn channels(&self) -> Vec<String> {
        self.shared
            .world
            .lock()
            .channels
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }
}

impl Drop for AmiServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Wake the accept call.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        self.close_connections();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors, say: do not spin.
                log::debug!("AMI emulator: accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some(tls) = shared.tls.clone() {
            // The handshake on the connection's thread: a slow client
            // must not hold up the others.
            let shared = shared.clone();
            let _ = thread::Builder::new()
                .name("astrix-amiserver-conn".into())
                .spawn(move || match tls.accept(stream, TLS_HANDSHAKE_TIMEOUT) {
                    Ok(t) => {
                        if let Some((ctx, reader)) = register(&shared, Transport::Tls(t)) {
                            // Dropped meanwhile: `close_connections` may
                            // have run before this connection was listed.
                            if shared.stop.load(Ordering::Acquire) {
                                return ctx.gone();
                            }
                            ctx.run(reader);
                        }
                    }
                    Err(e) => log::debug!("AMI emulator: {}", crate::ErrorChain(&e)),
                });
            continue;
        }
        let Some((ctx, reader)) = register(&shared, Transport::Plain(stream)) else {
            continue;
        };
        let _ = thread::Builder::new()
            .name("astrix-amiserver-conn".into())
            .spawn(move || ctx.run(reader));
    }
}

/// Lists a new connection; its context and the handle to read from.
/// `None` (the connection dropped, with a log line) if its socket cannot
/// be duplicated.
fn register(shared: &Arc<Shared>, stream: Transport) -> Option<(ConnCtx, Transport)> {
    let handles = stream
        .try_clone()
        .and_then(|w| Ok((w, stream.tcp().try_clone()?)))
        .and_then(|h| stream.set_write_timeout(Some(WRITE_TIMEOUT)).map(|()| h));
    let (w, socket) = match handles {
        Ok(h) => h,
        Err(e) => {
            log::debug!("AMI emulator: connection dropped: {e}");
            return None;
        }
    };
    let conn = Conn {
        id: shared.next_conn.fetch_add(1, Ordering::Relaxed),
        writer: Arc::new(Mutex::new(w)),
        socket,
        logged_in: Arc::new(AtomicBool::new(false)),
        events_on: Arc::new(AtomicBool::new(true)),
        read: Arc::new(Mutex::new(Vec::new())),
    };
    let ctx = ConnCtx {
        id: conn.id,
        writer: conn.writer.clone(),
        logged_in: conn.logged_in.clone(),
        events_on: conn.events_on.clone(),
        read: conn.read.clone(),
        write: Vec::new(),
        shared: shared.clone(),
        challenge: None,
    };
    shared.conns.lock().push(conn);
    Some((ctx, stream))
}

/// The writers of the connections `pick` selects, copied out of the list
/// so that no write happens under its lock.
fn writers(shared: &Shared, pick: impl Fn(&Conn) -> bool) -> Vec<Arc<Mutex<Transport>>> {
    let conns = shared.conns.lock();
    conns
        .iter()
        .filter(|c| pick(c))
        .map(|c| c.writer.clone())
        .collect()
}

fn broadcast(shared: &Shared, event: &Message) {
    let mut bytes = Vec::new();
    event.write_wire(&mut bytes);
    let to = writers(shared, |c| {
        c.logged_in.load(Ordering::Acquire)
            && c.events_on.load(Ordering::Acquire)
            && may_read(&c.read.lock(), event)
    });
    for w in to {
        let _ = w.lock().write_all(&bytes);
    }
}

struct ConnCtx {
    id: u64,
    writer: Arc<Mutex<Transport>>,
    logged_in: Arc<AtomicBool>,
    events_on: Arc<AtomicBool>,
    read: Arc<Mutex<Vec<String>>>,
    /// The write classes of the user logged in.
    write: Vec<String>,
    shared: Arc<Shared>,
    challenge: Option<String>,
}

impl ConnCtx {
    fn run(mut self, mut stream: Transport) {
        let banner = format!("{}\r\n", self.shared.cfg.banner);
        if self.writer.lock().write_all(banner.as_bytes()).is_err() {
            return self.gone();
        }
        let mut decoder = Decoder::without_banner(Limits::default());
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            decoder.feed(&buf[..n]);
            loop {
                match decoder.decode() {
                    Ok(Some(Frame::Message(m))) => {
                        if !self.handle(m) {
                            return self.gone();
                        }
                    }
                    Ok(Some(Frame::Banner(_))) => {}
                    Ok(None) => break,
                    Err(e) => log::debug!("AMI emulator: refused input: {e}"),
                }
            }
        }
        self.gone()
    }

    fn gone(&self) {
        let mut conns = self.shared.conns.lock();
        if let Some(i) = conns.iter().position(|c| c.id == self.id) {
            let _ = conns.remove(i).socket.shutdown(Shutdown::Both);
        }
        // Not listed: `close_connections` shut it down already.
    }

    /// Answers one action; false when the connection is to close.
    fn handle(&mut self, action: Message) -> bool {
        {
            let mut a = self.shared.actions.lock();
            a.push(action.clone());
            self.shared.action_cond.notify_all();
        }
        let name = action.get("Action").unwrap_or("").to_ascii_lowercase();
        let custom = self.shared.handlers.lock().get(&name).cloned();
        let reply = match custom {
            Some(h) => h(&action),
            None => match name.as_str() {
                "login" => self.login(&action),
                "challenge" => self.challenge(&action),
                "logoff" => Reply::none()
                    .response(
                        Message::new()
                            .with("Response", "Goodbye")
                            .with("Message", "Thanks for all the fish."),
                    )
                    .close(),
                _ if !self.logged_in.load(Ordering::Acquire) => Reply::error("Permission denied"),
                _ if !self.may_write(&name) => Reply::error("Permission denied"),
                "events" => {
                    let mask = action.get("EventMask").unwrap_or("on").to_ascii_lowercase();
                    let on = mask != "off";
                    self.events_on.store(on, Ordering::Release);
                    Reply::none().response(
                        Message::new()
                            .with("Response", "Success")
                            .with("Events", if on { "On" } else { "Off" }),
                    )
                }
                _ => answer(&action, &mut self.shared.world.lock()),
            },
        };
        self.play(reply, action.action_id().map(str::to_owned))
    }

    /// Whether the user may send action `name` (lowercase).
    fn may_write(&self, name: &str) -> bool {
        match ACTION_CLASSES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, need)) if !need.is_empty() => grants(&self.write, need),
            _ => true,
        }
    }

    fn login(&mut self, action: &Message) -> Reply {
        if self.logged_in.load(Ordering::Acquire) {
            return Reply::success_with("Already authenticated");
        }
        let shared = self.shared.clone();
        let cfg = &shared.cfg;
        let user = cfg
            .users
            .iter()
            .find(|u| action.get("Username") == Some(u.name.as_str()));
        let ok = user.is_some_and(|user| {
            if action
                .get("AuthType")
                .is_some_and(|t| t.eq_ignore_ascii_case("MD5"))
            {
                match (&self.challenge, action.get("Key")) {
                    (Some(c), Some(k)) => md5_key(c, &user.secret).eq_ignore_ascii_case(k),
                    _ => false,
                }
            } else {
                action.get("Secret") == Some(user.secret.expose())
            }
        });
        let (Some(user), true) = (user, ok) else {
            return Reply::none()
                .delay(cfg.login_failure_delay)
                .then(Reply::error("Authentication failed"))
                .close();
        };
        self.write = user.write.clone();
        *self.read.lock() = user.read.clone();
        self.logged_in.store(true, Ordering::Release);
        if let Some(e) = action.get("Events") {
            self.events_on
                .store(!e.eq_ignore_ascii_case("off"), Ordering::Release);
        }
        let mut r = Reply::success_with("Authentication accepted");
        if cfg.fully_booted && grants(&user.read, &["system"]) {
            r = r.send(
                Message::new()
                    .with("Event", "FullyBooted")
                    .with("Privilege", "system,all")
                    .with("Uptime", "6")
                    .with("LastReload", "6")
                    .with("Status", "Fully Booted"),
            );
        }
        r
    }

    fn challenge(&mut self, action: &Message) -> Reply {
        let md5 = action
            .get("AuthType")
            .is_some_and(|t| t.eq_ignore_ascii_case("MD5"));
        if !self.shared.cfg.md5 || !md5 {
            return Reply::error("Must specify AuthType");
        }
        let c = format!(
            "{}",
            100_000_000 + (self.id * 7_919 + 513_274) % 900_000_000
        );
        self.challenge = Some(c.clone());
        Reply::none().response(
            Message::new()
                .with("Response", "Success")
                .with("Challenge", &c),
        )
    }

    /// Plays a reply; a reply with a pause plays on a thread of its own.
    fn play(&self, reply: Reply, action_id: Option<String>) -> bool {
        if reply.steps.iter().any(|s| matches!(s, Step::Delay(_))) {
            let writer = self.writer.clone();
            let shared = self.shared.clone();
            let _ = thread::Builder::new()
                .name("astrix-amiserver-reply".into())
                .spawn(move || {
                    play_steps(&writer, &shared, reply, action_id.as_deref());
                });
            return true;
        }
        play_steps(&self.writer, &self.shared, reply, action_id.as_deref())
    }
}

/// Plays the steps; false once the connection was closed.
fn play_steps(
    writer: &Mutex<Transport>,
    shared: &Shared,
    reply: Reply,
    action_id: Option<&str>,
) -> bool {
    for step in reply.steps {
        match step {
            Step::Send { message, tag } => {
                let message = match (tag, action_id) {
                    (true, Some(id)) if message.action_id().is_none() => with_id(message, id),
                    _ => message,
                };
                let mut bytes = Vec::new();
                message.write_wire(&mut bytes);
                if writer.lock().write_all(&bytes).is_err() {
                    return false;
                }
            }
            Step::Broadcast(m) => broadcast(shared, &m),
            Step::Raw(b) => {
                if writer.lock().write_all(&b).is_err() {
                    return false;
                }
            }
            Step::Delay(d) => thread::sleep(d),
            Step::Close => {
                // Over TLS with a close_notify, as Asterisk after Logoff.
                writer.lock().close();
                return false;
            }
            Step::Gone(name) => shared.world.lock().channels.retain(|c| c.name != name),
            Step::World(f, name) => {
                let evs = f(&name, &mut shared.world.lock());
                for ev in evs {
                    broadcast(shared, &ev);
                }
            }
        }
    }
    true
}

/// The message with `ActionID: id` after its first header.
fn with_id(m: Message, id: &str) -> Message {
    let mut out = Message::with_capacity(m.len() + 1, m.text_len() + id.len() + 8);
    for (i, (n, v)) in m.iter().enumerate() {
        out.push(n, v);
        if i == 0 {
            out.push("ActionID", id);
        }
    }
    if m.is_empty() {
        out.push("ActionID", id);
    }
    out
}
