//! The connections of [`AriServer`](super::AriServer): the accept loop,
//! one thread per connection serving HTTP/1.1 requests (and the events
//! WebSocket after an upgrade), and the timer thread.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::alphabet;
use base64::engine::general_purpose::PAD_INDIFFERENT;
use base64::engine::GeneralPurpose;
use base64::Engine as _;
use parking_lot::{Condvar, Mutex};
use serde_json::Value;

use super::api;
use super::channels;
use super::hooks::RecordedRequest;
use super::http::{decode, last_value, parse_query, HttpConn, ReadError, Request};
use super::model::{push_capped, Task, World, WS_QUEUE};
use super::reply::{HttpReply, Kind};
use super::routes::{self, Params};
use super::ws;
use crate::Secret;

/// A scripted answer, see [`AriServer::on_request`](super::AriServer::on_request).
pub(crate) type Handler = Arc<dyn Fn(&RecordedRequest) -> Option<HttpReply> + Send + Sync>;

/// What the server's threads share.
pub(crate) struct Shared {
    pub(crate) world: Mutex<World>,
    /// Wakes the timer thread and those waiting for WebSockets.
    pub(crate) cond: Condvar,
    pub(crate) username: String,
    pub(crate) password: Secret,
    /// The last [`LOG_CAP`](super::model::LOG_CAP) requests.
    pub(crate) requests: Mutex<VecDeque<RecordedRequest>>,
    pub(crate) request_cond: Condvar,
    pub(crate) handlers: Mutex<Vec<Handler>>,
    /// The sockets of open connections, to shut them down.
    pub(crate) conns: Mutex<HashMap<u64, TcpStream>>,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) stop: AtomicBool,
    pub(crate) next_id: AtomicU64,
    /// Serves https/wss when set.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::testing::tls_server::ServerTls>,
}

impl Shared {
    pub(crate) fn new(world: World, username: String, password: Secret) -> Shared {
        Shared {
            world: Mutex::new(world),
            cond: Condvar::new(),
            username,
            password,
            requests: Mutex::new(VecDeque::new()),
            request_cond: Condvar::new(),
            handlers: Mutex::new(Vec::new()),
            conns: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

pub(crate) fn timer_loop(shared: &Shared) {
    let mut w = shared.world.lock();
    loop {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        if let Some(task) = w.take_due(Instant::now()) {
            match &task {
                Task::PlaybackStep(id, generation) => w.playback_step(id, *generation),
                Task::Answer(id) => channels::answered(&mut w, id, false),
                Task::Dialled(id) => channels::answered(&mut w, id, true),
            }
            continue;
        }
        let until = w
            .next_timer()
            .unwrap_or_else(|| Instant::now() + Duration::from_millis(500));
        shared.cond.wait_until(&mut w, until);
    }
}

pub(crate) fn accept_loop(listener: TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors (EMFILE) and the like: do not spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(ctl) = stream.try_clone() else {
            continue;
        };
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        shared.conns.lock().insert(id, ctl);
        let s = shared.clone();
        let spawned = thread::Builder::new()
            .name("astrix-arisrv-conn".into())
            .spawn(move || {
                // Forgets the connection even when a handler panics.
                let guard = Forget(id, &s);
                if let Ok(tcp) = stream.try_clone() {
                    #[cfg(feature = "tls")]
                    if let Some(tls) = &guard.1.tls {
                        match tls.accept(stream, Duration::from_secs(10)) {
                            Ok(stream) => serve(id, stream, &tcp, guard.1),
                            Err(e) => {
                                log::debug!("AriServer: {}", crate::ErrorChain(&e))
                            }
                        }
                        return;
                    }
                    serve(id, stream, &tcp, guard.1);
                }
            });
        let mut threads = shared.threads.lock();
        threads.retain(|t| !t.is_finished());
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                log::warn!("AriServer: cannot start a connection thread: {e}");
                if let Some(s) = shared.conns.lock().remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

/// Removes a connection from [`Shared::conns`] when dropped.
struct Forget<'a>(u64, &'a Shared);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.1.conns.lock().remove(&self.0);
    }
}

/// How long an HTTP connection may stay silent between (or within)
/// requests: Asterisk's keep-alive of 15 seconds.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long writing an HTTP answer may block.
const HTTP_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Sleeps `d` in small steps, returning early when the server stops.
fn pause(shared: &Shared, d: Duration) {
    let end = Instant::now() + d;
    while !shared.stop.load(Ordering::Acquire) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        thread::sleep((end - now).min(Duration::from_millis(20)));
    }
}

/// Serves one connection. `stream` carries the bytes (a TLS stream would
/// plug in here); `tcp` is the socket under it, for timeouts and shutdown.
///
/// A request (or the next one on a keep-alive connection) must arrive
/// within [`IDLE_TIMEOUT`], as Asterisk's keep-alive; a connection idle for
/// longer, or stalled in the middle of a request, is closed quietly. The
/// WebSocket loop sets its own timeouts after an upgrade.
pub(crate) fn serve<S: Read + Write>(id: u64, stream: S, tcp: &TcpStream, shared: &Shared) {
    let _ = tcp.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(HTTP_WRITE_TIMEOUT));
    let mut conn = HttpConn::new(stream);
    loop {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let req = match conn.read_request() {
            Ok(r) => r,
            Err(e) => {
                if let Some(resp) = e.response() {
                    log::debug!("AriServer: refused a request: {e:?}");
                    let _ = conn.send(&resp.to_wire(true, false));
                }
                if !matches!(e, ReadError::Closed) {
                    let _ = tcp.shutdown(Shutdown::Both);
                }
                return;
            }
        };
        match answer(id, req, &mut conn, tcp, shared) {
            Next::KeepAlive => {}
            Next::Close => {
                let _ = tcp.shutdown(Shutdown::Both);
                return;
            }
            Next::Upgraded => return,
        }
    }
}

enum Next {
    KeepAlive,
    Close,
    Upgraded,
}

/// The parameters of a request (form body, query, JSON body), or the 400 of
/// a JSON body Asterisk cannot parse.
fn params(req: &Request, query: &str) -> Result<Params, HttpReply> {
    let ctype = req
        .header("Content-Type")
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let mut p = Params::default();
    if ctype == "application/x-www-form-urlencoded" {
        p.query = parse_query(&String::from_utf8_lossy(&req.body));
    }
    p.query.extend(parse_query(query));
    if ctype == "application/json" && !req.body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&req.body) {
            Ok(v) => p.body = Some(v),
            Err(_) => return Err(HttpReply::error(400, "Error parsing request body")),
        }
    }
    Ok(p)
}

/// Standard base64 for Basic credentials; the padding may be left out.
const BASE64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, PAD_INDIFFERENT);

fn authorized(shared: &Shared, req: &Request, query: &[(String, String)]) -> bool {
    let pair = match req.header("Authorization") {
        Some(h) => {
            let Some(b64) = h
                .strip_prefix("Basic ")
                .or_else(|| h.strip_prefix("basic "))
            else {
                return false;
            };
            match BASE64.decode(b64.trim()) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(_) => return false,
            }
        }
        None => match last_value(query, "api_key") {
            Some(v) => v.to_owned(),
            None => return false,
        },
    };
    match pair.split_once(':') {
        Some((u, p)) => u == shared.username && p == shared.password.expose(),
        None => false,
    }
}

fn answer<S: Read + Write>(
    id: u64,
    req: Request,
    conn: &mut HttpConn<S>,
    tcp: &TcpStream,
    shared: &Shared,
) -> Next {
    let (raw_path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let (raw_path, query) = (raw_path.to_owned(), query.to_owned());
    let pairs = parse_query(&query);
    let recorded = RecordedRequest::new(&req, decode(&raw_path), pairs.clone());
    log::debug!("AriServer: {} {}", req.method, recorded.path);
    {
        push_capped(&mut shared.requests.lock(), recorded.clone());
        shared.request_cond.notify_all();
    }
    let close = req.wants_close();
    let head = req.method == "HEAD";
    let handlers: Vec<Handler> = shared.handlers.lock().clone();
    if let Some(resp) = handlers.iter().find_map(|h| h(&recorded)) {
        return play(conn, shared, resp, close, head);
    }
    let resp = (|| {
        if !["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"].contains(&req.method.as_str()) {
            return Err(super::reply::html_error(
                501,
                "Not Implemented",
                "Attempt to use unimplemented / unsupported method",
            ));
        }
        if raw_path != "/ari" && !raw_path.starts_with("/ari/") {
            return Err(super::reply::html_error(
                404,
                "Not Found",
                "The requested URL was not found on this server.",
            ));
        }
        let p = params(&req, &query)?;
        if !authorized(shared, &req, &pairs) {
            return Err(HttpReply::error(401, "Authentication required").header(
                "WWW-Authenticate",
                "Basic realm=\"Asterisk REST Interface\"",
            ));
        }
        let segs = routes::segments(&raw_path)?;
        let route = routes::route(&req.method, &segs)?;
        if route.op == "events.eventWebsocket" && req.method == "GET" {
            return Ok(Outcome::Upgrade(ws::check_upgrade(&req, &pairs)?));
        }
        let mut w = shared.world.lock();
        let resp = api::handle(&mut w, &route, &p);
        drop(w);
        shared.cond.notify_all();
        Ok(Outcome::Answer(resp))
    })();
    match resp {
        Err(resp) | Ok(Outcome::Answer(resp)) => play(conn, shared, resp, close, head),
        Ok(Outcome::Upgrade(up)) => {
            websocket(id, up, conn, tcp, shared);
            Next::Upgraded
        }
    }
}

/// What a request that passed the checks leads to.
enum Outcome {
    Answer(HttpReply),
    Upgrade(ws::Upgrade),
}

/// Sends an answer; whether the connection goes on.
fn play<S: Read + Write>(
    conn: &mut HttpConn<S>,
    shared: &Shared,
    resp: HttpReply,
    close: bool,
    head: bool,
) -> Next {
    if !resp.delay.is_zero() {
        pause(shared, resp.delay);
    }
    let close = close || resp.kind != Kind::Normal;
    if resp.kind == Kind::Close {
        return Next::Close;
    }
    if conn.send(&resp.to_wire(close, head)).is_err() || close {
        return Next::Close;
    }
    Next::KeepAlive
}

fn websocket<S: Read + Write>(
    id: u64,
    up: ws::Upgrade,
    conn: &mut HttpConn<S>,
    tcp: &TcpStream,
    shared: &Shared,
) {
    // Registered before the 101 goes out, so that no event emitted in
    // between is lost: the bounded queue holds it until the loop runs.
    let (tx, rx) = crossbeam_channel::bounded(WS_QUEUE);
    shared
        .world
        .lock()
        .register_socket(id, up.apps, up.subscribe_all, tx);
    shared.cond.notify_all();
    if conn.send(&up.head).is_err() {
        shared.world.lock().unregister_socket(id);
        shared.cond.notify_all();
        let _ = tcp.shutdown(Shutdown::Both);
        return;
    }
    let leftover = std::mem::take(&mut conn.buf);
    ws::run(&mut conn.stream, leftover, tcp, &rx, &shared.stop);
    shared.world.lock().unregister_socket(id);
    shared.cond.notify_all();
}
