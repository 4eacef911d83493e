//! The event WebSocket (`/ari/events?app=…`): opening it, the reader thread
//! that turns frames into events for the dispatcher, keepalive pings, and
//! reconnection with backoff.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{HandshakeError, Message, WebSocket};

use super::dispatch::{ConnectionState, Item};
use super::error::AriError;
use super::events::Event;
use super::http::{segment, Http, Method, Request};
use super::url::BaseUrl;
use crate::net::dial::{dial, Deadline, DialError};
use crate::net::transport::Transport;
use crate::reconnect::{self, Interrupt, ReconnectPolicy, Retried};
use crate::ErrorChain;

/// The default for the largest event accepted (Asterisk's are a few kB).
pub(crate) const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// How to open the event WebSocket.
#[derive(Clone)]
pub(crate) struct WsConfig {
    /// For checking that the applications are registered.
    pub(crate) http: Arc<Http>,
    pub(crate) base: BaseUrl,
    pub(crate) apps: Vec<String>,
    pub(crate) subscribe_all: bool,
    /// `Basic …`; never logged.
    pub(crate) authorization: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) keepalive: Option<Duration>,
    /// The largest event (WebSocket message) accepted.
    pub(crate) max_message: usize,
    pub(crate) reconnect: Option<ReconnectPolicy>,
    /// For `https://` URLs: the TLS client, built once so that a
    /// reconnection can resume the session.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::Connector>,
}

/// State shared between the client and its reader thread.
#[derive(Default)]
pub(crate) struct WsShared {
    pub(crate) closing: AtomicBool,
    /// Wakes a reconnect backoff at `close()`.
    interrupt: Interrupt,
    /// A clone of the current socket, to shut it down from `close()`.
    socket: Mutex<Option<TcpStream>>,
}

impl WsShared {
    /// Makes the reader stop: no reconnection, and the socket shut down so
    /// that a blocked read returns at once.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.interrupt.interrupt();
        if let Some(s) = self.socket.lock().take() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

/// An [`AriError::WebSocket`]: what failed, and the I/O error that made it
/// fail.
pub(crate) fn ws_error(reason: impl Into<String>, source: Option<io::Error>) -> AriError {
    AriError::WebSocket {
        reason: reason.into(),
        source: source.map(Arc::new),
    }
}

/// tungstenite's error as the I/O error of an [`AriError::WebSocket`]: the
/// socket's own error when it is one (tungstenite's message would repeat
/// it), else tungstenite's error wrapped.
fn into_io(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        e => io::Error::other(e),
    }
}

/// Opens the WebSocket and registers the applications.
pub(crate) fn open(cfg: &WsConfig) -> Result<WebSocket<Transport>, AriError> {
    // One deadline for the addresses, the TLS handshake, the upgrade and
    // the applications' registration.
    let deadline = Deadline::after(cfg.connect_timeout);
    let stream = connect(cfg, deadline)?;
    let timeouts_failed = |e| ws_error("cannot set the socket's timeouts", Some(e));
    stream
        .set_read_timeout(deadline.socket_timeout())
        .and_then(|()| stream.set_write_timeout(deadline.socket_timeout()))
        .map_err(timeouts_failed)?;

    let mut path = format!("{}/ari/events?app=", cfg.base.ws_prefix());
    path.push_str(&super::encode::percent(&cfg.apps.join(",")));
    if cfg.subscribe_all {
        path.push_str("&subscribeAll=true");
    }
    let mut request = path
        .as_str()
        .into_client_request()
        .map_err(|e| ws_error("bad WebSocket URL", Some(into_io(e))))?;
    let auth = tungstenite::http::HeaderValue::from_str(&cfg.authorization)
        .map_err(|_| AriError::Invalid("credentials contain a control character".into()))?;
    request.headers_mut().insert("Authorization", auth);
    let config = WebSocketConfig::default()
        .max_message_size(Some(cfg.max_message))
        .max_frame_size(Some(cfg.max_message));
    match tungstenite::client::client_with_config(request, stream, Some(config)) {
        Ok((ws, _response)) => {
            let tcp = ws.get_ref().tcp();
            tcp.set_read_timeout(cfg.keepalive)
                .and_then(|()| {
                    tcp.set_write_timeout(Some(cfg.connect_timeout.max(Duration::from_secs(5))))
                })
                .map_err(timeouts_failed)?;
            wait_registered(cfg, deadline);
            Ok(ws)
        }
        Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let body = response.body().as_deref().unwrap_or_default();
            Err(AriError::Status {
                status,
                message: super::http::error_message(body),
                method: "GET",
                path: "/ari/events".to_owned(),
            })
        }
        Err(HandshakeError::Failure(e)) => Err(ws_error("handshake failed", Some(into_io(e)))),
        // A read or write that timed out (the socket's timeouts are the
        // connect timeout).
        Err(HandshakeError::Interrupted(_)) => Err(ws_error(
            "handshake failed",
            Some(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {:?}", cfg.connect_timeout),
            )),
        )),
    }
}

/// Asterisk answers the upgrade before it registers the applications: an
/// originate into one at once could find it missing. Waits (up to the
/// connect timeout) until each application is listed, so that a caller may
/// originate into it as soon as `connect` returns.
fn wait_registered(cfg: &WsConfig, deadline: Deadline) {
    for app in &cfg.apps {
        let req = Request::new(Method::Get, format!("/applications/{}", segment(app)));
        loop {
            match cfg.http.execute(&req) {
                Ok(_) => break,
                Err(e) if deadline.passed() => {
                    log::warn!(
                        "ARI application {app} not seen registered: {}",
                        ErrorChain(&e)
                    );
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

/// TCP to the URL's host and port and, for `https://`, TLS: the dialler
/// AMI uses, under `deadline`.
fn connect(cfg: &WsConfig, deadline: Deadline) -> Result<Transport, AriError> {
    #[cfg(not(feature = "tls"))]
    if cfg.base.is_tls() {
        return Err(AriError::Url {
            url: cfg.base.to_string(),
            reason: "https needs the `tls` feature",
            source: None,
        });
    }
    let (host, port) = (cfg.base.host(), cfg.base.port());
    let dialled = dial(
        (host, port),
        deadline,
        #[cfg(feature = "tls")]
        cfg.tls.as_ref(),
    );
    dialled.map_err(|e| match e {
        DialError::Connect(why) => ws_error(
            format!("cannot connect to {}", cfg.base.authority()),
            Some(why),
        ),
        #[cfg(feature = "tls")]
        DialError::Tls(e) => AriError::from(e),
    })
}

/// The reader thread: reads frames until the socket dies, then reconnects
/// (if a policy says so) until closed or given up. Returns the error that
/// ended the events, if any.
pub(crate) fn run(
    cfg: WsConfig,
    shared: Arc<WsShared>,
    mut ws: WebSocket<Transport>,
    tx: Sender<Item>,
) -> Option<AriError> {
    deliver(&tx, &shared, Item::State(ConnectionState::Connected));
    loop {
        *shared.socket.lock() = ws.get_ref().tcp().try_clone().ok();
        if shared.is_closing() {
            // close() ran before the clone was stored.
            let _ = ws.get_ref().tcp().shutdown(Shutdown::Both);
        }
        let (reason, source) = read_frames(&mut ws, &cfg, &shared, &tx);
        let source = source.map(Arc::new);
        shared.socket.lock().take();
        if shared.is_closing() {
            let _ = ws.close(None);
            return None;
        }
        let lost = AriError::WebSocket {
            reason: reason.clone(),
            source: source.clone(),
        };
        let why = ErrorChain(&lost).to_string();
        log::warn!("{why}");
        deliver(&tx, &shared, Item::State(ConnectionState::Lost(why)));
        let policy = match &cfg.reconnect {
            Some(p) => p,
            None => return Some(lost),
        };
        ws = match reconnect::retry(policy, &shared.interrupt, "ARI WebSocket", || open(&cfg)) {
            Retried::Connected(ws, _) => ws,
            Retried::Closed => return None,
            Retried::GaveUp(attempts) => {
                let gave_up = AriError::WebSocket {
                    reason: format!("{reason}; gave up reconnecting after {attempts} attempts"),
                    source,
                };
                let why = ErrorChain(&gave_up).to_string();
                deliver(&tx, &shared, Item::State(ConnectionState::GaveUp(why)));
                return Some(gave_up);
            }
        };
        deliver(&tx, &shared, Item::State(ConnectionState::Reconnected));
    }
}

/// Hands an item to the dispatcher, waiting while its queue is full (TCP
/// then pushes back on Asterisk) but giving up when the client closes: a
/// callback that closes the client while the queue is full must not wait
/// for a reader that waits for it. False if the item was not delivered.
fn deliver(tx: &Sender<Item>, shared: &WsShared, mut item: Item) -> bool {
    loop {
        match tx.send_timeout(item, Duration::from_millis(50)) {
            Ok(()) => return true,
            Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => {
                if shared.is_closing() {
                    return false;
                }
                item = back;
            }
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}

/// Reads frames until the socket fails; returns why, and the I/O error
/// behind it if there is one.
fn read_frames(
    ws: &mut WebSocket<Transport>,
    cfg: &WsConfig,
    shared: &WsShared,
    tx: &Sender<Item>,
) -> (String, Option<io::Error>) {
    let mut last_heard = Instant::now();
    let mut ping_sent = false;
    loop {
        match ws.read() {
            Ok(msg) => {
                last_heard = Instant::now();
                ping_sent = false;
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Binary(b) => match tungstenite::Utf8Bytes::try_from(b) {
                        Ok(t) => t,
                        Err(_) => {
                            let e = AriError::Json {
                                context: "event".into(),
                                message: "binary frame that is not UTF-8".into(),
                                excerpt: String::new(),
                            };
                            deliver(tx, shared, Item::Error(e));
                            continue;
                        }
                    },
                    Message::Close(frame) => {
                        let why = match frame {
                            Some(f) => format!("closed by Asterisk ({} {})", f.code, f.reason),
                            None => "closed by Asterisk".to_owned(),
                        };
                        return (why, None);
                    }
                    _ => continue,
                };
                let item = match Event::parse(text.as_str()) {
                    Ok(event) => Item::Event(Box::new(event)),
                    Err(e) => Item::Error(e),
                };
                if !deliver(tx, shared, item) {
                    return ("dispatcher gone".to_owned(), None);
                }
            }
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) && !shared.is_closing() =>
            {
                // The keepalive interval passed in silence.
                let interval = cfg.keepalive.unwrap_or(Duration::from_secs(30));
                if ping_sent && last_heard.elapsed() >= interval * 2 {
                    let silent = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no answer to a ping within {interval:?}"),
                    );
                    return ("connection lost".to_owned(), Some(silent));
                }
                if !ping_sent {
                    if let Err(e) = ws.send(Message::Ping(Vec::new().into())) {
                        return ("ping failed".to_owned(), Some(into_io(e)));
                    }
                    ping_sent = true;
                }
            }
            Err(tungstenite::Error::ConnectionClosed) => return ("closed".to_owned(), None),
            Err(e) => return ("connection lost".to_owned(), Some(into_io(e))),
        }
    }
}
