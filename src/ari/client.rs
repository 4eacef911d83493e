//! The ARI client: REST requests over HTTP, and the event WebSocket with
//! its reader and dispatcher threads.

use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use super::dispatch::{CallbackId, ConnectionState, Item, ObjectKey, Registry};
use super::error::AriError;
use super::events::{AriEvent, Event};
use super::http::{self, Http, Request};
use super::objects::ObjectRef;
use super::url::BaseUrl;
use super::websocket::{self, WsConfig, WsShared};
use crate::ended::Ended;
use crate::ids::ActionId;
use crate::reconnect::ReconnectPolicy;
use crate::subscription::{self, Subscription};
use crate::Secret;

/// How many events may wait for the dispatcher before the reader stops
/// reading (and TCP pushes back on Asterisk).
const QUEUE: usize = 4096;

/// Configures and opens a [`Client`].
///
/// ```no_run
/// use astrix::ari::Client;
///
/// let client = Client::builder("http://127.0.0.1:8088")
///     .credentials("hey", "peekaboo")
///     .app("hello")
///     .connect()?;
/// # Ok::<(), astrix::ari::AriError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "call .connect() to open the client"]
pub struct ClientBuilder {
    url: String,
    username: String,
    password: Secret,
    apps: Vec<String>,
    subscribe_all: bool,
    timeout: Duration,
    connect_timeout: Duration,
    keepalive: Option<Duration>,
    reconnect: Option<ReconnectPolicy>,
    max_event_size: usize,
    max_response_size: usize,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
}

impl ClientBuilder {
    /// Sets the ARI user and password (`ari.conf`).
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.username = username.into();
        self.password = password.into();
        self
    }

    /// Adds a Stasis application to register: the client opens the event
    /// WebSocket for it. Without any application the client makes REST
    /// calls only.
    pub fn app(mut self, name: impl Into<String>) -> Self {
        self.apps.push(name.into());
        self
    }

    /// Subscribes the applications to every event of the system
    /// (`subscribeAll=true`), not only those of their own objects.
    pub fn subscribe_all(mut self, yes: bool) -> Self {
        self.subscribe_all = yes;
        self
    }

    /// The longest a REST request may take, connection included (default
    /// 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The longest opening the WebSocket may take (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Pings Asterisk over the WebSocket after `interval` of silence, and
    /// declares the connection dead when a second interval passes without
    /// an answer (default: off).
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = Some(interval.max(Duration::from_millis(10)));
        self
    }

    /// The largest event accepted from the WebSocket (default 16 MiB;
    /// Asterisk's are a few kB). A larger one ends the connection with an
    /// error (and, with a reconnect policy, a new connection).
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes.max(1024);
        self
    }

    /// The largest REST response body read (default 64 MiB: a stored
    /// recording's file can be large). A larger one fails the call with
    /// [`AriError::Transport`].
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes.max(1024);
        self
    }

    /// Reopens a WebSocket that dies, with this backoff, and registers the
    /// applications again (default: off; a dead WebSocket then ends the
    /// events and [`Client::wait_closed`] returns the error).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Verifies `https://` and `wss://` servers with this configuration
    /// (a private CA, say) instead of the public roots.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Opens the client: checks the URL and, if applications were given,
    /// opens the event WebSocket (an error here is the server's refusal:
    /// 401 for bad credentials, a refused connection…) and starts the
    /// reader and dispatcher threads.
    ///
    /// **No event is lost at start-up.** Asterisk may send events the
    /// moment the WebSocket opens (channels already in the application, or
    /// everything with `subscribe_all`); they wait in the client's queue
    /// until [`Client::start`]. Register the callbacks and subscriptions
    /// first, then call `start()`:
    ///
    /// ```no_run
    /// use astrix::ari::{events::StasisStart, Client};
    ///
    /// let client = Client::builder("http://127.0.0.1:8088")
    ///     .credentials("hey", "peekaboo")
    ///     .app("hello")
    ///     .connect()?;
    /// client.on(|_, e: &StasisStart| println!("{} entered", e.channel.name));
    /// client.start(); // events flow from here, none missed
    /// client.wait_closed()?;
    /// # Ok::<(), astrix::ari::AriError>(())
    /// ```
    ///
    /// Until `start()`, up to 4,096 events wait; past that the socket is
    /// not read (TCP pushes back on Asterisk), exactly as when a callback
    /// is slow.
    pub fn connect(self) -> Result<Client, AriError> {
        let base = BaseUrl::parse(&self.url)?;
        // Base64 would carry CR/LF harmlessly, but such credentials are a
        // mistake (or an attack) that Asterisk would refuse anyway; a colon
        // in the user name would shift the password (RFC 7617).
        if self.username.contains(':')
            || self.username.chars().any(char::is_control)
            || self.password.expose().chars().any(char::is_control)
        {
            return Err(AriError::Invalid(
                "the user name or password contains a control character (or the user name a colon)"
                    .into(),
            ));
        }
        let authorization = http::basic_auth(&self.username, self.password.expose());
        #[cfg(not(feature = "tls"))]
        if base.is_tls() {
            return Err(AriError::Url {
                url: self.url,
                reason: "https needs the `tls` feature",
                source: None,
            });
        }
        #[cfg(feature = "tls")]
        let http_tls = match (&self.tls, base.is_tls()) {
            (Some(t), true) => Some(t.ureq_config()?),
            _ => None,
        };
        let http = Arc::new(Http::new(
            base.rest_base(),
            authorization.clone(),
            self.timeout,
            self.max_response_size,
            #[cfg(feature = "tls")]
            http_tls,
        ));
        let inner = Arc::new(Inner {
            http: http.clone(),
            registry: Arc::new(Registry::default()),
            events: Mutex::new(None),
            ids: ActionId::new(),
            done: Arc::new(Ended::default()),
        });
        if self.apps.is_empty() {
            // REST only: no event will ever come.
            inner.registry.clear();
            return Ok(Client { inner });
        }
        if let Some(bad) = self.apps.iter().find(|a| a.is_empty() || a.contains(',')) {
            return Err(AriError::Invalid(format!(
                "invalid application name {bad:?}"
            )));
        }
        #[cfg(feature = "tls")]
        let (base_tls, host) = (base.is_tls(), base.host().to_owned());
        let cfg = WsConfig {
            http,
            base,
            apps: self.apps,
            subscribe_all: self.subscribe_all,
            authorization,
            connect_timeout: self.connect_timeout,
            keepalive: self.keepalive,
            max_message: self.max_event_size,
            reconnect: self.reconnect,
            #[cfg(feature = "tls")]
            tls: match base_tls {
                true => Some(self.tls.unwrap_or_default().connector(&host)?),
                false => None,
            },
        };
        let ws = websocket::open(&cfg)?;
        start_threads(&inner, cfg, ws)?;
        Ok(Client { inner })
    }
}

fn start_threads(
    inner: &Arc<Inner>,
    cfg: WsConfig,
    ws: tungstenite::WebSocket<crate::net::transport::Transport>,
) -> Result<(), AriError> {
    let (tx, rx): (Sender<Item>, Receiver<Item>) = crossbeam_channel::bounded(QUEUE);
    // Dropping `start_tx` (Client::start, or close) opens the gate.
    let (start_tx, start_rx) = crossbeam_channel::bounded::<()>(0);
    let shared = Arc::new(WsShared::default());
    let spawn_err = |e| websocket::ws_error("cannot start a thread", Some(e));

    let reader_shared = shared.clone();
    let done = inner.done.clone();
    let reader = thread::Builder::new()
        .name("astrix-ari-reader".into())
        .spawn(move || {
            let result = websocket::run(cfg, reader_shared, ws, tx);
            done.finish(result);
        })
        .map_err(spawn_err)?;

    let weak = Arc::downgrade(inner);
    let registry = inner.registry.clone();
    let dispatch_shared = shared.clone();
    let dispatcher = thread::Builder::new()
        .name("astrix-ari-dispatch".into())
        .spawn(move || {
            // Nothing is dispatched before the application could register
            // its callbacks: the events wait in `rx` until `start()`.
            let _ = start_rx.recv();
            dispatch_loop(weak, &registry, rx, &dispatch_shared);
            // The events have ended for good: subscriptions end too.
            registry.clear();
        })
        .map_err(|e| {
            shared.close();
            spawn_err(e)
        })?;
    *inner.events.lock() = Some(EventThreads {
        shared,
        start: Some(start_tx),
        dispatcher_id: dispatcher.thread().id(),
        reader: Some(reader),
        dispatcher: Some(dispatcher),
    });
    Ok(())
}

fn dispatch_loop(client: Weak<Inner>, registry: &Registry, rx: Receiver<Item>, shared: &WsShared) {
    for item in rx.iter() {
        if shared.is_closing() {
            // close() was called: what is still queued is not delivered.
            let left = 1 + rx.try_iter().count();
            log::debug!("ARI client closed with {left} queued item(s) undelivered");
            break;
        }
        // A strong reference only while callbacks run: dropping the last
        // user handle still closes the client.
        let Some(inner) = client.upgrade() else { break };
        let client = Client { inner };
        match item {
            Item::Event(event) => registry.dispatch_event(&client, &event),
            Item::Error(e) => registry.dispatch_error(&e),
            Item::State(s) => registry.dispatch_state(&s),
        }
    }
}

/// How the events ended, for `wait_closed`: `None` closed, `Some(error)`
/// died.
type Done = Ended<Option<AriError>>;

struct EventThreads {
    shared: Arc<WsShared>,
    /// The gate the dispatcher waits at until `start()`; dropped to open.
    start: Option<Sender<()>>,
    dispatcher_id: ThreadId,
    reader: Option<JoinHandle<()>>,
    dispatcher: Option<JoinHandle<()>>,
}

struct Inner {
    http: Arc<Http>,
    registry: Arc<Registry>,
    events: Mutex<Option<EventThreads>>,
    /// Ids for `new_id`: a random prefix per client and a counter, as
    /// AMI's ActionIDs.
    ids: ActionId,
    done: Arc<Done>,
}

impl Inner {
    fn close(&self) {
        let threads = self.events.lock().take();
        if let Some(mut t) = threads {
            t.shared.close();
            drop(t.start.take());
            if let Some(r) = t.reader.take() {
                let _ = r.join();
            }
            // The reader dropped its sender: the dispatcher drains and
            // ends. It may be this very thread (a callback closing or
            // dropping the client): then it ends when the callback returns.
            if let Some(d) = t.dispatcher.take() {
                if thread::current().id() != t.dispatcher_id {
                    let _ = d.join();
                }
            }
        } else {
            // No event threads (REST only, or closed before): report a
            // close, unless the events already ended with an error.
            self.done.finish(None);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

/// An ARI client: REST operations through repositories
/// (`client.channels()`, `client.bridges()`…) and domain objects
/// (`channel.answer()`), and events from the WebSocket delivered to
/// callbacks on a dispatcher thread.
///
/// Cheap to clone; all clones share one connection. The event threads stop
/// when [`close`](Client::close) is called or the last clone is dropped.
/// Callbacks receive a `&Client` to make calls with: capturing a clone in a
/// callback would keep the client open until `close()`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.http.base())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for a client of the Asterisk HTTP server at `url`
    /// (`http://HOST:8088`; `https://` with the `tls` feature).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            username: String::new(),
            password: Secret::new(""),
            apps: Vec::new(),
            subscribe_all: false,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            keepalive: None,
            reconnect: None,
            max_event_size: websocket::MAX_MESSAGE,
            max_response_size: http::MAX_BODY,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// A REST-only client (no application, no WebSocket).
    pub fn new(url: &str, username: &str, password: &str) -> Result<Client, AriError> {
        Client::builder(url)
            .credentials(username, password)
            .connect()
    }

    /// A fresh id, unique to this client, for `channel_id`, `bridge_id`,
    /// `playback_id`… so that a subscription can be made before the object
    /// exists.
    pub fn new_id(&self) -> String {
        self.inner.ids.next_id()
    }

    /// Runs `callback` for each event of type `event_type` (`"StasisStart"`;
    /// `"*"` for every event). Callbacks run one at a time on the
    /// dispatcher thread, in the order events arrived; they may make REST
    /// calls.
    pub fn on_event<F>(&self, event_type: &str, callback: F) -> CallbackId
    where
        F: Fn(&Client, &Event) + Send + Sync + 'static,
    {
        self.inner.registry.on_event(event_type, Arc::new(callback))
    }

    /// Runs `callback` for each event of type `E`, typed:
    /// `client.on(|client, e: &StasisStart| …)`.
    pub fn on<E, F>(&self, callback: F) -> CallbackId
    where
        E: AriEvent + 'static,
        F: Fn(&Client, &E) + Send + Sync + 'static,
    {
        self.on_event(E::TYPE, move |client, event| {
            if let Some(e) = E::from_event(event) {
                callback(client, e);
            }
        })
    }

    /// Runs `callback` for every event.
    pub fn on_any_event<F>(&self, callback: F) -> CallbackId
    where
        F: Fn(&Client, &Event) + Send + Sync + 'static,
    {
        self.on_event("*", callback)
    }

    /// Runs `callback` when the WebSocket connects, dies, reconnects or
    /// reconnecting is given up.
    pub fn on_connection_state<F>(&self, callback: F) -> CallbackId
    where
        F: Fn(&ConnectionState) + Send + Sync + 'static,
    {
        self.inner.registry.on_state(Arc::new(callback))
    }

    /// Runs `callback` for a frame that is not a JSON object (the event is
    /// lost to the typed callbacks, so it is reported here; without such a
    /// callback it is logged). AMI's counterpart is
    /// [`Manager::on_protocol_error`](crate::ami::Manager::on_protocol_error).
    pub fn on_protocol_error<F>(&self, callback: F) -> CallbackId
    where
        F: Fn(&AriError) + Send + Sync + 'static,
    {
        self.inner.registry.on_error(Arc::new(callback))
    }

    /// Removes a callback; false if it was already gone.
    pub fn remove_callback(&self, id: CallbackId) -> bool {
        self.inner.registry.remove(id)
    }

    /// Starts dispatching events to the callbacks and subscriptions. Until
    /// the first call, the events that arrive wait in the client's queue
    /// (see [`ClientBuilder::connect`]), so that none is lost before the
    /// application has registered its callbacks. Idempotent; a no-op for a
    /// REST-only client.
    pub fn start(&self) {
        if let Some(t) = self.inner.events.lock().as_mut() {
            drop(t.start.take());
        }
    }

    /// Every event as a stream, through a queue of `capacity` events
    /// (see [`Subscription`] for what happens when it is full: nothing is
    /// dropped). Like a callback, it receives events once
    /// [`start`](Client::start) was called; dropping it unsubscribes.
    ///
    /// ```no_run
    /// # let client = astrix::ari::Client::builder("http://127.0.0.1:8088").app("hello").connect()?;
    /// let events = client.subscribe(1024);
    /// client.start();
    /// for event in &events {
    ///     println!("{}", event.event_type());
    /// }
    /// # Ok::<(), astrix::ari::AriError>(())
    /// ```
    pub fn subscribe(&self, capacity: usize) -> Subscription<Event> {
        let (tx, rx) = subscription::queue(capacity);
        let id = self.on_any_event(move |_, e| {
            // An error means the subscription was dropped: nothing to do.
            let _ = tx.send(e.clone());
        });
        self.subscription(rx, id)
    }

    /// The events of type `E` as a stream, typed
    /// (`client.subscribe_to::<StasisStart>(64)`); as
    /// [`subscribe`](Client::subscribe) otherwise.
    pub fn subscribe_to<E>(&self, capacity: usize) -> Subscription<E>
    where
        E: AriEvent + Clone + Send + 'static,
    {
        let (tx, rx) = subscription::queue(capacity);
        let id = self.on(move |_, e: &E| {
            let _ = tx.send(e.clone());
        });
        self.subscription(rx, id)
    }

    fn subscription<T>(&self, rx: Receiver<T>, id: CallbackId) -> Subscription<T> {
        let registry = Arc::downgrade(&self.inner.registry);
        Subscription::new(rx, move || {
            if let Some(r) = registry.upgrade() {
                r.remove(id);
            }
        })
    }

    pub(crate) fn subscribe_object<F>(&self, key: ObjectKey, event_type: &str, f: F) -> CallbackId
    where
        F: Fn(&Client, ObjectRef<'_>, &Event) + Send + Sync + 'static,
    {
        self.inner.registry.on_object(key, event_type, Arc::new(f))
    }

    /// The number of live per-object subscriptions (they end with their
    /// object; see [`Channel::on_event`](super::Channel::on_event)).
    pub fn object_subscriptions(&self) -> usize {
        self.inner.registry.object_subscriptions()
    }

    /// Closes the event WebSocket and stops the threads (waiting for a
    /// running callback to return, unless called from one). Events already
    /// received but not yet dispatched are not delivered. REST calls keep
    /// working. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Blocks until the events end: `Ok` after [`close`](Client::close),
    /// the error when the WebSocket died and no reconnect policy (or its
    /// last attempt) brought it back. Returns at once for a REST-only
    /// client.
    pub fn wait_closed(&self) -> Result<(), AriError> {
        let how = self.inner.done.wait(|| self.inner.events.lock().is_some());
        how.map_or(Ok(()), Err)
    }

    /// [`wait_closed`](Client::wait_closed) for at most `timeout`: `None`
    /// if the events are still running then.
    pub fn wait_closed_timeout(&self, timeout: Duration) -> Option<Result<(), AriError>> {
        let how = self
            .inner
            .done
            .wait_for(timeout, || self.inner.events.lock().is_some())?;
        Some(how.map_or(Ok(()), Err))
    }

    pub(crate) fn execute_json<T: DeserializeOwned>(&self, req: Request) -> Result<T, AriError> {
        let (_, body) = self.inner.http.execute(&req)?;
        http::decode(&req, &body)
    }

    pub(crate) fn execute_unit(&self, req: Request) -> Result<(), AriError> {
        self.inner.http.execute(&req).map(|_| ())
    }

    pub(crate) fn execute_bytes(&self, req: Request) -> Result<Vec<u8>, AriError> {
        self.inner.http.execute(&req).map(|(_, body)| body)
    }
}
