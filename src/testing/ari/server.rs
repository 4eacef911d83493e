//! [`AriServer`]: an emulator of Asterisk 22's REST Interface (HTTP and
//! the events WebSocket) on 127.0.0.1, for tests.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::calls::NewChannel;
use super::conn::{accept_loop, timer_loop, Shared};
use super::model::{Config, World, WsCmd};
use super::reply::HttpReply;
use crate::Secret;

pub use super::hooks::{IncomingCall, RecordedRequest};

/// Settings for an [`AriServer`]; see [`AriServer::builder`].
#[derive(Clone, Debug)]
pub struct AriServerBuilder {
    username: String,
    password: Secret,
    cfg: Config,
    #[cfg(feature = "tls")]
    tls: Option<Result<crate::testing::tls_server::ServerTls, crate::tls::TlsError>>,
}

impl AriServerBuilder {
    /// The one ARI user (default `hey` / `peekaboo`, as the recordings).
    pub fn credentials(mut self, username: &str, password: &str) -> Self {
        self.username = username.into();
        self.password = Secret::new(password);
        self
    }

    /// The `asterisk_id` of events and the `entity_id` of
    /// `/asterisk/info` (default `02:fc:00:00:00:01`).
    pub fn asterisk_id(mut self, id: &str) -> Self {
        self.cfg.asterisk_id = id.into();
        self
    }

    /// How long each media of a playback plays (default 100 ms).
    pub fn playback_duration(mut self, d: Duration) -> Self {
        self.cfg.playback_duration = d;
        self
    }

    /// How long the far end of an originated or dialled channel takes to
    /// answer (default 0).
    pub fn answer_delay(mut self, d: Duration) -> Self {
        self.cfg.answer_delay = d;
        self
    }

    /// The sounds that exist. By default every `sound:` plays; with a list,
    /// `GET /ari/sounds` returns it and other sounds fail as a missing file
    /// does (`PlaybackStarted`, then `PlaybackFinished` with state
    /// `failed`).
    pub fn sounds(mut self, names: &[&str]) -> Self {
        self.cfg.sounds = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Serves https and wss (cargo feature `tls`) with the certificate
    /// chain `cert_chain_pem` (leaf first) and the private key `key_pem`;
    /// [`AriServer::url`] then starts with `https://`. A PEM problem is
    /// reported by [`start`](AriServerBuilder::start) as an
    /// [`std::io::ErrorKind::InvalidInput`] error.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Self {
        self.tls = Some(crate::testing::tls_server::ServerTls::from_pem(
            cert_chain_pem,
            key_pem,
        ));
        self
    }

    /// Binds 127.0.0.1 on a free port and starts serving.
    pub fn start(self) -> std::io::Result<AriServer> {
        #[allow(unused_mut)]
        let mut shared = Shared::new(World::new(self.cfg.clone()), self.username, self.password);
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls {
            shared.tls =
                Some(tls.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?);
        }
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(shared);
        let s = shared.clone();
        let timer = thread::Builder::new()
            .name("astrix-arisrv-timer".into())
            .spawn(move || timer_loop(&s))?;
        let s = shared.clone();
        let accept = match thread::Builder::new()
            .name("astrix-arisrv-accept".into())
            .spawn(move || accept_loop(listener, &s))
        {
            Ok(t) => t,
            Err(e) => {
                shared.stop.store(true, Ordering::Release);
                shared.cond.notify_all();
                let _ = timer.join();
                return Err(e);
            }
        };
        Ok(AriServer {
            addr,
            shared,
            threads: vec![accept, timer],
        })
    }
}

/// An emulated Asterisk 22 REST Interface: HTTP/1.1 with keep-alive and
/// the `/ari/events` WebSocket, on 127.0.0.1 (port 0).
///
/// It keeps channels, bridges, playbacks and Stasis applications in memory
/// and answers like the recordings of a real Asterisk 22.10.1: same JSON
/// shapes, error messages and reason phrases, `201` and `Location` for a
/// playback, `204` for state changes, events in Asterisk's order
/// (`ChannelVarset` before `StasisStart` for an originate with variables;
/// `ChannelHangupRequest`, `StasisEnd`, `ChannelDestroyed` for a hangup).
/// Operations of ARI that it does not model answer
/// `501 {"message":"Not implemented by the AriServer emulator: …"}`; unknown
/// paths `404 Resource not found`; known paths with another method
/// `405 Invalid method`. An application gets a bridge's events while it is
/// subscribed to it (one subscription per channel of it in the bridge, one
/// per explicit subscribe, as `res/stasis/app.c` counts them): once its
/// channels have all left, destroying the bridge sends it no
/// `BridgeDestroyed`, as on Asterisk.
///
/// It does not model media (playbacks last a fixed time, recordings have
/// no content), snoop or external media streams, endpoints' real state,
/// the dialplan after `continue`, nor real timings.
///
/// Test hooks bring calls in ([`incoming_call`](Self::incoming_call)), hang
/// them up from the far end, push any event or raw frame, break the
/// WebSockets, script any HTTP answer ([`on_request`](Self::on_request))
/// and read back every request. Dropping it (or
/// [`shutdown`](Self::shutdown)) closes every connection and joins every
/// thread it started.
///
/// ```
/// use astrix::testing::AriServer;
///
/// let server = AriServer::start()?;
/// let agent: ureq::Agent = ureq::Agent::config_builder()
///     .http_status_as_error(false)
///     .build()
///     .into();
/// let mut resp = agent
///     .get(&format!("{}/ari/asterisk/ping", server.url()))
///     .header("Authorization", "Basic aGV5OnBlZWthYm9v") // hey:peekaboo
///     .call()?;
/// assert_eq!(resp.status(), 200);
/// let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
/// assert_eq!(body["ping"], "pong");
///
/// // Without credentials: 401, as Asterisk.
/// let resp = agent.get(&format!("{}/ari/channels", server.url())).call()?;
/// assert_eq!(resp.status(), 401);
/// assert_eq!(server.requests().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AriServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for AriServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AriServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl AriServer {
    /// Settings, starting from the defaults.
    pub fn builder() -> AriServerBuilder {
        AriServerBuilder {
            username: "hey".into(),
            password: Secret::new("peekaboo"),
            cfg: Config {
                asterisk_id: "02:fc:00:00:00:01".into(),
                playback_duration: Duration::from_millis(100),
                answer_delay: Duration::ZERO,
                sounds: None,
            },
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// A server with the default settings (user `hey`, password
    /// `peekaboo`).
    pub fn start() -> std::io::Result<AriServer> {
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

    /// The base URL, `http://127.0.0.1:PORT` (ARI is under `/ari`).
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.is_tls() { "https" } else { "http" },
            self.addr
        )
    }

    fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.shared.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// The URL of the events WebSocket for `apps` (comma-separated), with
    /// the credentials as `api_key`.
    pub fn events_url(&self, apps: &str) -> String {
        format!(
            "{}://{}/ari/events?app={apps}&api_key={}:{}",
            if self.is_tls() { "wss" } else { "ws" },
            self.addr,
            self.shared.username,
            self.shared.password.expose()
        )
    }

    /// The user name clients must send.
    pub fn username(&self) -> &str {
        &self.shared.username
    }

    /// The password clients must send.
    pub fn password(&self) -> &str {
        self.shared.password.expose()
    }

    /// Answers requests with what `f` returns instead of the built-in
    /// answer, whenever it returns `Some` (before authentication and
    /// routing, WebSocket upgrades included). Handlers added later are
    /// asked first.
    ///
    /// `f` runs on the connection's thread: a handler that blocks holds up
    /// [`shutdown`](Self::shutdown) (and the drop of the server), which
    /// joins every connection thread.
    ///
    /// ```
    /// use astrix::testing::{AriServer, HttpReply};
    ///
    /// let server = AriServer::start()?;
    /// server.on_request(|r| {
    ///     (r.path == "/ari/channels").then(|| {
    ///         HttpReply::new(500).header("Content-type", "text/html").body("<h1>boom</h1>")
    ///     })
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_request(
        &self,
        f: impl Fn(&RecordedRequest) -> Option<HttpReply> + Send + Sync + 'static,
    ) {
        self.shared.handlers.lock().insert(0, Arc::new(f));
    }

    /// Forgets every [`on_request`](Self::on_request) handler.
    pub fn clear_request_handlers(&self) {
        self.shared.handlers.lock().clear();
    }

    /// Every request received so far, in order, on all connections
    /// (malformed ones excepted); only the most recent 10,000 are kept.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().iter().cloned().collect()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().clear();
    }

    /// Waits up to `timeout` for a request matching `pred` (counting those
    /// already received); returns the latest match.
    pub fn wait_for_request(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> Option<RecordedRequest> {
        let deadline = Instant::now() + timeout;
        let mut reqs = self.shared.requests.lock();
        loop {
            if let Some(r) = reqs.iter().rev().find(|r| pred(r)) {
                return Some(r.clone());
            }
            if self
                .shared
                .request_cond
                .wait_until(&mut reqs, deadline)
                .timed_out()
            {
                return None;
            }
        }
    }

    /// Number of open events WebSockets.
    pub fn websocket_count(&self) -> usize {
        self.shared.world.lock().sockets.len()
    }

    /// Waits up to `timeout` until at least `n` WebSockets are open.
    pub fn wait_for_websockets(&self, n: usize, timeout: Duration) -> bool {
        self.wait_world(timeout, |w| w.sockets.len() >= n)
    }

    /// Waits up to `timeout` until a WebSocket has registered application
    /// `app` (events for an application without one reach nobody).
    pub fn wait_for_app(&self, app: &str, timeout: Duration) -> bool {
        self.wait_world(timeout, |w| {
            w.apps.get(app).is_some_and(|a| a.socket.is_some())
        })
    }

    fn wait_world(&self, timeout: Duration, ok: impl Fn(&World) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut w = self.shared.world.lock();
        loop {
            if ok(&w) {
                return true;
            }
            if self.shared.cond.wait_until(&mut w, deadline).timed_out() {
                return ok(&w);
            }
        }
    }

    /// A call arrives from the dialplan into Stasis application `app` with
    /// `args` (state `Ring`): `StasisStart`. Returns the channel id.
    pub fn incoming_call(&self, app: &str, args: &[&str]) -> String {
        self.incoming_call_with(IncomingCall::new(app).args(args))
    }

    /// [`incoming_call`](Self::incoming_call) with the details of `call`.
    pub fn incoming_call_with(&self, call: IncomingCall) -> String {
        let mut w = self.shared.world.lock();
        let id = w.add_channel(NewChannel {
            id: call.id,
            endpoint: call.endpoint,
            state: "Ring",
            caller: call.caller,
            context: call.context,
            exten: call.exten,
            priority: 1,
            language: call.language,
            ..NewChannel::default()
        });
        if let Some(c) = w.channel_mut(&id) {
            c.vars.extend(call.variables);
        }
        w.enter_stasis(&id, &call.app, &call.args, false);
        id
    }

    /// The far end hangs up (cause 16, Normal Clearing):
    /// `ChannelHangupRequest`, `StasisEnd` (after `ChannelLeftBridge` when
    /// bridged), `ChannelDestroyed`. False when there is no such channel.
    pub fn hangup(&self, channel_id: &str) -> bool {
        self.hangup_with_cause(channel_id, 16)
    }

    /// [`hangup`](Self::hangup) with another Q.850 cause (17 busy, 19 no
    /// answer, …).
    pub fn hangup_with_cause(&self, channel_id: &str, cause: i64) -> bool {
        self.shared.world.lock().hangup(channel_id, cause, false)
    }

    /// The caller presses a key: `ChannelDtmfReceived` (100 ms). False when
    /// there is no such channel.
    pub fn dtmf(&self, channel_id: &str, digit: char) -> bool {
        let mut w = self.shared.world.lock();
        if w.channel(channel_id).is_none() {
            return false;
        }
        w.emit_channel(
            channel_id,
            "ChannelDtmfReceived",
            serde_json::json!({"digit": digit.to_string(), "duration_ms": 100}),
        );
        true
    }

    /// A channel as `GET /ari/channels/{id}` shows it.
    pub fn channel(&self, id: &str) -> Option<Value> {
        self.shared.world.lock().channel(id).map(|c| c.json())
    }

    /// A channel variable.
    pub fn channel_variable(&self, id: &str, name: &str) -> Option<String> {
        self.shared
            .world
            .lock()
            .channel(id)
            .and_then(|c| c.vars.get(name).cloned())
    }

    /// The ids of the channels, oldest first.
    pub fn channel_ids(&self) -> Vec<String> {
        let w = self.shared.world.lock();
        w.channels.iter().map(|c| c.id.clone()).collect()
    }

    /// A bridge as `GET /ari/bridges/{id}` shows it.
    pub fn bridge(&self, id: &str) -> Option<Value> {
        self.shared.world.lock().bridge(id).map(|b| b.json())
    }

    /// The ids of the bridges, oldest first.
    pub fn bridge_ids(&self) -> Vec<String> {
        let w = self.shared.world.lock();
        w.bridges.iter().map(|b| b.id.clone()).collect()
    }

    /// Every event emitted so far, one copy per application, in order (also
    /// those no WebSocket was there to receive, and pushed ones); only the
    /// most recent 10,000 are kept.
    pub fn events(&self) -> Vec<Value> {
        self.shared.world.lock().log.iter().cloned().collect()
    }

    /// Forgets the events emitted so far.
    pub fn clear_events(&self) {
        self.shared.world.lock().log.clear();
    }

    /// Sends `event` as is (one text frame) to the WebSocket holding its
    /// `application`, or to every WebSocket when it has none. Nothing is
    /// added or checked: an unknown `type` or missing fields go out as
    /// given.
    pub fn push_event(&self, event: Value) {
        self.shared.world.lock().push_raw_event(event);
    }

    /// Sends one text frame with any text (malformed JSON, say) to every
    /// WebSocket.
    pub fn push_raw_frame(&self, text: &str) {
        let text = text.to_owned();
        self.shared
            .world
            .lock()
            .broadcast(|| WsCmd::Text(text.clone()));
    }

    /// Writes raw bytes on every WebSocket's stream (a binary or invalid
    /// frame, half a frame…).
    pub fn push_raw_bytes(&self, bytes: &[u8]) {
        let bytes = bytes.to_vec();
        self.shared
            .world
            .lock()
            .broadcast(|| WsCmd::Raw(bytes.clone()));
    }

    /// Closes every WebSocket cleanly (close frame, then TCP close).
    pub fn close_websockets(&self) {
        self.shared.world.lock().broadcast(|| WsCmd::Close);
    }

    /// Breaks every WebSocket: the first bytes of a text frame (its header
    /// announcing 300 bytes, then 11 of them), then the TCP connection is
    /// shut down.
    pub fn cut_websockets_mid_frame(&self) {
        self.shared.world.lock().broadcast(|| WsCmd::Cut);
    }

    /// Stops serving: closes every connection and WebSocket and joins every
    /// thread. Dropping the server does the same.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Taking the lock orders the flag before any waiter's check: a
        // waiter that saw it unset is already waiting when notified.
        drop(self.shared.world.lock());
        self.shared.cond.notify_all();
        // Wake the accept call.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for (_, s) in self.shared.conns.lock().drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let threads: Vec<_> = self.shared.threads.lock().drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
        let mut w = self.shared.world.lock();
        let ids: Vec<u64> = w.sockets.keys().copied().collect();
        for id in ids {
            w.unregister_socket(id);
        }
    }
}

impl Drop for AriServer {
    fn drop(&mut self) {
        self.stop();
    }
}
