//! [`Connection`]: the whole AMI client protocol as a sans-IO state
//! machine: no sockets, threads or clocks of its own.
//!
//! It does with every message what a client must: frames the bytes
//! received, matches responses to actions by ActionID, collects EventLists
//! (with or without `EventList: start`), logs in (plain or Challenge/MD5),
//! remembers the login and the `Filter`/`Events` actions that succeeded and
//! replays them on a new connection, sends the keepalive `Ping`, and times
//! actions out. [`Manager`](crate::ami::Manager) drives it from its
//! threads; an application with its own event loop drives it from there
//! (see `examples/ami_own_loop.rs`):
//!
//! - bytes received go to [`Connection::feed`]; bytes to send come from
//!   [`Connection::transmit`] / [`Connection::advance_transmit`] (or
//!   [`Connection::take_transmit`]);
//! - what happened comes from [`Connection::poll_output`]: an [`Output`];
//! - the time goes to [`Connection::handle_timeout`], at the latest when
//!   [`Connection::poll_timeout`] says;
//! - the transport's end goes to [`Connection::connection_lost`], a new
//!   transport to [`Connection::connection_made`].
//!
//! Each action carries a tag of the driver's choosing (`T`): it comes back
//! with the action's reply, so a driver needs no table of its own.
//!
//! ```
//! use std::time::Instant;
//! use astrix::ami::{actions::Ping, Connection, Output};
//!
//! let mut conn: Connection<&str> = Connection::new();
//! let now = Instant::now();
//! conn.feed(b"Asterisk Call Manager/11.0.0\r\n", now);
//! let id = conn.send(&Ping, "my ping", now)?;
//! assert!(conn.transmit().starts_with(b"Action: Ping\r\n"));
//! let n = conn.transmit().len();
//! conn.advance_transmit(n);
//!
//! let reply = format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n");
//! conn.feed(reply.as_bytes(), now);
//! assert!(matches!(conn.poll_output(), Some(Output::Connected(v)) if v == "11.0.0"));
//! match conn.poll_output() {
//!     Some(Output::Reply { tag, result, .. }) => {
//!         assert_eq!(tag, "my ping");
//!         assert_eq!(result?.get("Ping"), Some("Pong"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), astrix::ami::AmiError>(())
//! ```

mod login;
mod slots;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

pub use login::{md5_key, AuthMethod};
use login::{Credentials, LoginStep, LoginSteps};
use slots::{list_part, opens_list, List, ListPart, Owner, Slot, Slots};

use super::action::Action;
use super::actions::Login;
use super::codec::{encode_message, DecodeError, Decoder, Frame, Limits};
use super::error::{AmiError, DisconnectReason};
use super::message::{Message, MessageKind};
use super::response::Response;
use crate::ids::ActionId;
use crate::Secret;

/// What happened on a [`Connection`], from [`Connection::poll_output`], in
/// the order it happened.
#[non_exhaustive]
pub enum Output<T> {
    /// The banner arrived; holds the AMI version (`11.0.0` for Asterisk 22).
    Connected(String),
    /// The reply to an action sent with [`Connection::send`] or to a
    /// [`Connection::login`], with the tag it was sent with. `Response:
    /// Error` is [`AmiError::ActionFailed`] (for a `Login`,
    /// [`AmiError::Authentication`]); a list's reply holds its events; an
    /// action without a reply in time is [`AmiError::Timeout`]; one in
    /// flight when the connection was lost is [`AmiError::Disconnected`].
    Reply {
        /// The action's ActionID.
        id: String,
        /// The tag it was sent with.
        tag: T,
        /// The reply.
        result: Result<Response, AmiError>,
    },
    /// An event that belongs to no list being collected.
    Event(Message),
    /// A response no action waits for (an unknown or late ActionID), or the
    /// messages of a list whose action timed out or was lost.
    Orphan(Message),
    /// A message the decoder refused that no action waited for.
    ProtocolError(DecodeError),
    /// After [`Connection::connection_made`] on a connection that was
    /// logged in: logged in again with the same credentials and method,
    /// and the `Filter`/`Events` actions that had succeeded replayed.
    /// Actions can be sent again.
    Restored,
    /// The driver must close the transport, then call
    /// [`Connection::connection_lost`]: a bad banner
    /// ([`AmiError::BadBanner`]), a login refused on a reconnection
    /// ([`AmiError::Authentication`]), a keepalive `Ping` unanswered
    /// ([`DisconnectReason::KeepaliveTimeout`]).
    Close(AmiError),
    /// The connection is down (after [`Connection::connection_lost`]);
    /// every action in flight got its [`Output::Reply`] with
    /// [`AmiError::Disconnected`] before this.
    Lost(DisconnectReason),
}

impl<T: fmt::Debug> fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Connected(v) => f.debug_tuple("Connected").field(v).finish(),
            Output::Reply { id, tag, result } => f
                .debug_struct("Reply")
                .field("id", id)
                .field("tag", tag)
                .field("result", result)
                .finish(),
            Output::Event(m) => f.debug_tuple("Event").field(m).finish(),
            Output::Orphan(m) => f.debug_tuple("Orphan").field(m).finish(),
            Output::ProtocolError(e) => f.debug_tuple("ProtocolError").field(e).finish(),
            Output::Restored => f.write_str("Restored"),
            Output::Close(e) => f.debug_tuple("Close").field(e).finish(),
            Output::Lost(r) => f.debug_tuple("Lost").field(r).finish(),
        }
    }
}

/// Where a [`Connection`] stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Waiting for the banner of a new transport.
    Banner,
    /// On a reconnection: logging in again and replaying filters. Actions
    /// are refused until [`Output::Restored`].
    Restoring,
    /// Up: actions can be sent.
    Open,
    /// Down, after [`Connection::connection_lost`].
    Down,
}

/// The AMI client protocol as a sans-IO state machine; see the
/// [module docs](self). `T` is the tag each action carries back with its
/// reply.
pub struct Connection<T = ()> {
    decoder: Decoder,
    limits: Limits,
    phase: Phase,
    /// Set after the first loss: a new banner then starts a restore.
    reconnecting: bool,
    /// Why the connection was last lost, until it is restored.
    lost: Option<DisconnectReason>,
    /// The reason to give when the transport the machine asked to close
    /// ends (a keepalive's); `None` leaves the transport's own reason, so
    /// that a reconnect policy still applies.
    closing: Option<DisconnectReason>,
    /// A close was asked for on this transport (asked once).
    close_asked: bool,
    banner: Option<String>,
    ids: ActionId,
    transmit: Vec<u8>,
    sent: usize,
    outputs: VecDeque<Output<T>>,
    slots: Slots<T>,
    action_timeout: Duration,
    keepalive: Option<Duration>,
    next_ping: Option<Instant>,
    ping_in_flight: bool,
    credentials: Option<Credentials>,
    replay: Vec<Message>,
    replays_pending: usize,
    booted: bool,
    logging_off: bool,
}

impl<T> fmt::Debug for Connection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("phase", &self.phase)
            .field("banner", &self.banner)
            .field("in_flight", &self.slots.len())
            .field("transmit", &self.transmit().len())
            .finish_non_exhaustive()
    }
}

impl<T> Default for Connection<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn is(value: Option<&str>, expected: &str) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case(expected))
}

impl<T> Connection<T> {
    /// A connection waiting for the banner of its first transport, with
    /// default [`Limits`], a 10 s action timeout and no keepalive.
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// As [`Connection::new`], with the decoder's limits.
    pub fn with_limits(limits: Limits) -> Self {
        Connection {
            decoder: Decoder::with_limits(limits),
            limits,
            phase: Phase::Banner,
            reconnecting: false,
            lost: None,
            closing: None,
            close_asked: false,
            banner: None,
            ids: ActionId::new(),
            transmit: Vec::with_capacity(4096),
            sent: 0,
            outputs: VecDeque::with_capacity(64),
            slots: Slots::default(),
            action_timeout: Duration::from_secs(10),
            keepalive: None,
            next_ping: None,
            ping_in_flight: false,
            credentials: None,
            replay: Vec::new(),
            replays_pending: 0,
            booted: false,
            logging_off: false,
        }
    }

    /// The timeout of [`Connection::send`], of a login and of the keepalive
    /// `Ping` (default 10 s).
    pub fn set_action_timeout(&mut self, timeout: Duration) {
        self.action_timeout = timeout;
    }

    /// Sends `Ping` every `interval` while the connection is open (`None`,
    /// the default: never); an unanswered one asks for the connection to
    /// be closed ([`Output::Close`], then [`DisconnectReason::KeepaliveTimeout`]).
    pub fn set_keepalive(&mut self, interval: Option<Duration>) {
        self.keepalive = interval.filter(|d| !d.is_zero());
        if self.keepalive.is_none() {
            self.next_ping = None;
        }
    }

    /// Where the connection stands.
    pub fn phase(&self) -> Phase {
        self.phase.clone()
    }

    /// The AMI version of the current transport's banner.
    pub fn banner(&self) -> Option<&str> {
        self.banner.as_deref()
    }

    /// Why the connection is down, from [`Connection::connection_lost`]
    /// until it is open again; `None` while it is up (or before its first
    /// banner).
    pub fn disconnect_reason(&self) -> Option<&DisconnectReason> {
        self.lost.as_ref()
    }

    /// Whether `FullyBooted` has been received.
    pub fn is_fully_booted(&self) -> bool {
        self.booted
    }

    /// Actions waiting for their reply (the connection's own included).
    pub fn in_flight(&self) -> usize {
        self.slots.len()
    }

    // ----- input -----

    /// Hands the machine bytes received, in any pieces; `now` is the time
    /// they arrived (for the deadlines of what it sends in return).
    pub fn feed(&mut self, bytes: &[u8], now: Instant) {
        self.decoder.feed(bytes);
        loop {
            match self.decoder.decode() {
                Ok(Some(Frame::Banner(v))) => self.on_banner(v, now),
                Ok(Some(Frame::Message(m))) if self.phase == Phase::Banner => {
                    drop(m);
                    self.close(AmiError::BadBanner("a message before any banner".into()));
                }
                Ok(Some(Frame::Message(m))) => self.on_message(m, now),
                Ok(None) => return,
                Err(DecodeError::BadBanner { line }) => self.close(AmiError::BadBanner(line)),
                Err(e) if self.phase == Phase::Banner => {
                    self.close(AmiError::BadBanner(e.to_string()))
                }
                Err(e) => self.on_refused(e),
            }
        }
    }

    /// The transport ended (read end of stream, an I/O error, or the close
    /// the driver made). Every action in flight gets its
    /// [`Output::Reply`] with [`AmiError::Disconnected`], a list's events
    /// so far go to [`Output::Orphan`], a message cut off by the end to
    /// [`Output::ProtocolError`]; then [`Output::Lost`] with the reason,
    /// which is `reason` unless the machine knows better (after `Logoff`,
    /// [`DisconnectReason::LoggedOff`]; after an unanswered keepalive,
    /// [`DisconnectReason::KeepaliveTimeout`]).
    pub fn connection_lost(&mut self, reason: DisconnectReason) {
        if self.phase == Phase::Down {
            return;
        }
        let reason = match self.closing.take() {
            Some(r) => r,
            None if self.logging_off => DisconnectReason::LoggedOff,
            None => reason,
        };
        if let Err(e) = self.decoder.finish() {
            self.outputs.push_back(Output::ProtocolError(e));
        }
        let slots: Vec<_> = self.slots.drain().collect();
        for (id, mut slot) in slots {
            if let Some(list) = slot.list.take() {
                self.outputs
                    .extend(list.into_messages().map(Output::Orphan));
            }
            let err = AmiError::Disconnected(reason.clone());
            match slot.owner {
                Owner::User { tag, .. } | Owner::Login { tag: Some(tag), .. } => {
                    self.outputs.push_back(Output::Reply {
                        id,
                        tag,
                        result: Err(err),
                    })
                }
                Owner::Login { tag: None, .. } | Owner::Replay | Owner::Keepalive => {}
            }
        }
        self.phase = Phase::Down;
        self.reconnecting = true;
        self.lost = Some(reason.clone());
        self.transmit.clear();
        self.sent = 0;
        self.next_ping = None;
        self.ping_in_flight = false;
        self.replays_pending = 0;
        self.outputs.push_back(Output::Lost(reason));
    }

    /// A new transport is up (after [`Connection::connection_lost`]): the
    /// machine waits for its banner, then, if it had logged in, logs in
    /// again and replays the `Filter`/`Events` actions that succeeded
    /// ([`Output::Restored`] when done).
    pub fn connection_made(&mut self) {
        // Whatever was in flight on the previous transport is void.
        let slots: Vec<_> = self.slots.drain().collect();
        for (id, slot) in slots {
            if let Owner::User { tag, .. } = slot.owner {
                let reason = self.lost.clone().unwrap_or(DisconnectReason::Closed);
                self.outputs.push_back(Output::Reply {
                    id,
                    tag,
                    result: Err(AmiError::Disconnected(reason)),
                });
            }
        }
        self.ping_in_flight = false;
        self.replays_pending = 0;
        self.decoder = Decoder::with_limits(self.limits);
        self.phase = Phase::Banner;
        self.closing = None;
        self.close_asked = false;
        self.banner = None;
        self.transmit.clear();
        self.sent = 0;
    }

    // ----- actions -----

    /// Sends `action` with the action timeout; returns its ActionID (its
    /// own, if it has one). The reply comes as [`Output::Reply`] with
    /// `tag`. Fails with [`AmiError::Disconnected`] while the connection
    /// is down or restoring, [`AmiError::DuplicateActionId`] for an id in
    /// flight, [`AmiError::Encode`] for a header that cannot be sent.
    pub fn send<A: Action + ?Sized>(
        &mut self,
        action: &A,
        tag: T,
        now: Instant,
    ) -> Result<String, AmiError> {
        self.send_timeout(action, tag, now, self.action_timeout)
    }

    /// [`Connection::send`] with its own timeout.
    pub fn send_timeout<A: Action + ?Sized>(
        &mut self,
        action: &A,
        tag: T,
        now: Instant,
        timeout: Duration,
    ) -> Result<String, AmiError> {
        self.check_open()?;
        let id = match action.action_id() {
            Some(id) => id.to_owned(),
            None => self.ids.next_id(),
        };
        if self.slots.contains(&id) {
            return Err(AmiError::DuplicateActionId(id));
        }
        let name = action.name();
        let mut m = Message::with_capacity(8, 64);
        m.push("Action", name);
        m.push("ActionID", &id);
        action.write_headers(&mut m);
        encode_message(&m, &mut self.transmit)?;
        let replay = (is(Some(name), "Events") || is(Some(name), "Filter")).then(|| {
            m.remove("ActionID");
            m
        });
        if is(Some(name), "Logoff") {
            self.logging_off = true;
        }
        self.slots.insert(
            id.clone(),
            Slot {
                owner: Owner::User { tag, replay },
                name: name.to_owned(),
                expects_list: action.expects_list(),
                deadline: now.checked_add(timeout),
                timeout,
                list: None,
            },
        );
        Ok(id)
    }

    /// Logs in as `username` (see [`AuthMethod`]); the outcome is the
    /// [`Output::Reply`] with `tag`: the server's last answer, or
    /// [`AmiError::Authentication`]. Once accepted, the credentials are
    /// kept for [`Connection::connection_made`]. One deadline, the action
    /// timeout from `now`, covers every step.
    pub fn login(
        &mut self,
        username: &str,
        secret: &Secret,
        method: AuthMethod,
        tag: T,
        now: Instant,
    ) -> Result<String, AmiError> {
        self.check_open()?;
        let credentials = Credentials {
            username: username.to_owned(),
            secret: secret.clone(),
            method,
        };
        // What cannot be put on the wire (a line break in the name or the
        // secret) is refused here, before anything is sent.
        let plain = Login::plain(username, secret.clone());
        let mut m = Message::new();
        plain.write_headers(&mut m);
        encode_message(&m, &mut Vec::new())?;
        let deadline = now.checked_add(self.action_timeout);
        self.start_login(credentials, Some(tag), deadline)
            .ok_or(AmiError::Disconnected(DisconnectReason::Closed))
    }

    /// The bytes to send, in order; call [`Connection::advance_transmit`]
    /// with how many were written.
    pub fn transmit(&self) -> &[u8] {
        &self.transmit[self.sent..]
    }

    /// Marks the first `n` bytes of [`Connection::transmit`] as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.transmit.len());
        if self.sent == self.transmit.len() {
            self.transmit.clear();
            self.sent = 0;
        }
    }

    /// Moves every byte to send to the end of `out`.
    pub fn take_transmit(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() && self.sent == 0 {
            std::mem::swap(out, &mut self.transmit);
        } else {
            out.extend_from_slice(self.transmit());
            self.transmit.clear();
        }
        self.sent = 0;
    }

    // ----- output and time -----

    /// The next thing that happened, if any.
    pub fn poll_output(&mut self) -> Option<Output<T>> {
        self.outputs.pop_front()
    }

    /// When [`Connection::handle_timeout`] must be called next at the
    /// latest: the earliest action deadline or keepalive `Ping`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ping = self.next_ping.filter(|_| !self.ping_in_flight);
        match (self.slots.next_deadline(), ping) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Gives the machine the time: actions past their deadline get
    /// [`AmiError::Timeout`] (a list's events so far go to
    /// [`Output::Orphan`]), and the keepalive `Ping` goes out when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        for id in self.slots.expired(now) {
            let Some((id, mut slot)) = self.slots.remove(&id) else {
                continue;
            };
            if let Some(list) = slot.list.take() {
                log::warn!(
                    "{} (ActionID {id}) timed out mid-list; {} messages go to the orphan handler",
                    slot.name,
                    list.events.len() + 1
                );
                self.outputs
                    .extend(list.into_messages().map(Output::Orphan));
            }
            let action = match &slot.owner {
                Owner::Login { steps, .. } => steps.awaiting().to_owned(),
                _ => slot.name.clone(),
            };
            let err = AmiError::Timeout {
                action,
                after: slot.timeout,
            };
            self.fail(id, slot.owner, err);
        }
        if self.phase == Phase::Open
            && !self.ping_in_flight
            && self.next_ping.is_some_and(|t| t <= now)
        {
            let mut ping = Message::new();
            ping.push("Action", "Ping");
            let deadline = now.checked_add(self.action_timeout);
            if self
                .send_internal(ping, Owner::Keepalive, deadline)
                .is_some()
            {
                self.ping_in_flight = true;
            }
        }
    }

    // ----- inside -----

    fn check_open(&self) -> Result<(), AmiError> {
        match (&self.phase, &self.lost) {
            (Phase::Down | Phase::Restoring, Some(r)) => Err(AmiError::Disconnected(r.clone())),
            (Phase::Banner, Some(r)) if self.reconnecting => Err(AmiError::Disconnected(r.clone())),
            _ => Ok(()),
        }
    }

    /// Asks the driver to close the transport.
    fn close(&mut self, err: AmiError) {
        if self.close_asked || self.phase == Phase::Down {
            return;
        }
        self.close_asked = true;
        // Only a disconnect reason of the machine's own (the keepalive's)
        // replaces the transport's: `Closed` would stop a reconnect policy.
        if let AmiError::Disconnected(r) = &err {
            self.closing = Some(r.clone());
        }
        self.outputs.push_back(Output::Close(err));
    }

    fn start_login(
        &mut self,
        credentials: Credentials,
        tag: Option<T>,
        deadline: Option<Instant>,
    ) -> Option<String> {
        let (steps, first) = LoginSteps::start(credentials);
        self.send_internal(first, Owner::Login { tag, steps }, deadline)
    }

    /// Sends a message of the connection's own (a login step, a replay, the
    /// keepalive) with a fresh ActionID, tracked for `owner`; an encoding
    /// error goes to the owner.
    fn send_internal(
        &mut self,
        mut m: Message,
        owner: Owner<T>,
        deadline: Option<Instant>,
    ) -> Option<String> {
        let id = self.ids.next_id();
        m.set("ActionID", &id);
        if let Err(e) = encode_message(&m, &mut self.transmit) {
            self.fail(id, owner, e.into());
            return None;
        }
        let name = m.get("Action").unwrap_or_default().to_owned();
        self.slots.insert(
            id.clone(),
            Slot {
                owner,
                name,
                expects_list: false,
                deadline,
                timeout: self.action_timeout,
                list: None,
            },
        );
        Some(id)
    }

    fn on_banner(&mut self, version: String, now: Instant) {
        if self.phase != Phase::Banner {
            log::debug!("AMI banner again: {version}");
            return;
        }
        self.banner = Some(version.clone());
        self.outputs.push_back(Output::Connected(version));
        if !self.reconnecting {
            self.open(now);
            return;
        }
        self.phase = Phase::Restoring;
        match self.credentials.clone() {
            Some(c) => {
                let deadline = now.checked_add(self.action_timeout);
                self.start_login(c, None, deadline);
            }
            None => self.replay_all(now),
        }
    }

    fn open(&mut self, now: Instant) {
        self.phase = Phase::Open;
        self.next_ping = self.keepalive.and_then(|k| now.checked_add(k));
    }

    fn replay_all(&mut self, now: Instant) {
        let deadline = now.checked_add(self.action_timeout);
        for m in self.replay.clone() {
            if self.send_internal(m, Owner::Replay, deadline).is_some() {
                self.replays_pending += 1;
            }
        }
        if self.replays_pending == 0 {
            self.restored(now);
        }
    }

    fn restored(&mut self, now: Instant) {
        self.lost = None;
        self.open(now);
        self.outputs.push_back(Output::Restored);
    }

    fn on_message(&mut self, m: Message, now: Instant) {
        if m.kind() == MessageKind::Event {
            if is(m.event_name(), "FullyBooted") {
                self.booted = true;
            }
            if !self.slots.is_empty() {
                if let Some(m) = self.offer_to_list(m, now) {
                    self.outputs.push_back(Output::Event(m));
                }
                return;
            }
            self.outputs.push_back(Output::Event(m));
            return;
        }
        let Some(slot) = m.action_id().and_then(|id| self.slots.get_mut(id)) else {
            self.outputs.push_back(Output::Orphan(m));
            return;
        };
        if slot.list.is_none() {
            if let Some(legacy) = opens_list(&m, slot.expects_list) {
                slot.list = Some(List {
                    response: m,
                    events: Vec::new(),
                    legacy,
                });
                return;
            }
        }
        let id = m.action_id().unwrap_or_default().to_owned();
        if let Some((id, slot)) = self.slots.remove(&id) {
            self.finish(id, slot, m, Vec::new(), None, now);
        }
    }

    /// Hands `event` to the list collecting under its ActionID; gives it
    /// back if there is none.
    fn offer_to_list(&mut self, event: Message, now: Instant) -> Option<Message> {
        let Some(slot) = event.action_id().and_then(|id| self.slots.get_mut(id)) else {
            return Some(event);
        };
        // An event with an action's id outside a list (OriginateResponse)
        // is an event like any other.
        let list = slot.list.as_mut()?;
        let part = list_part(&slot.name, list.legacy, &event);
        if part == ListPart::Item {
            list.events.push(event);
            return None;
        }
        let id = event.action_id().unwrap_or_default().to_owned();
        let (id, mut slot) = self.slots.remove(&id)?;
        let list = slot.list.take()?;
        let (mut events, complete) = (list.events, Some(event));
        let complete = match part {
            ListPart::LastItem => {
                events.extend(complete);
                None
            }
            _ => complete,
        };
        self.finish(id, slot, list.response, events, complete, now);
        None
    }

    /// An action's reply is complete.
    fn finish(
        &mut self,
        id: String,
        slot: Slot<T>,
        response: Message,
        events: Vec<Message>,
        complete: Option<Message>,
        now: Instant,
    ) {
        match slot.owner {
            Owner::User { tag, replay } => {
                let r = Response::with_list(&slot.name, response, events, complete);
                let result = if !r.is_error() {
                    if let Some(m) = replay {
                        self.remember(m);
                    }
                    Ok(r)
                } else if is(Some(&slot.name), "Login") {
                    Err(AmiError::Authentication {
                        message: r.message_text().unwrap_or("refused").to_owned(),
                    })
                } else {
                    Err(AmiError::ActionFailed(Box::new(r)))
                };
                self.outputs.push_back(Output::Reply { id, tag, result });
            }
            Owner::Login { tag, mut steps } => match steps.answer(&response) {
                LoginStep::Send(next) => {
                    // The tag moves on with the next step, under one deadline.
                    let owner = Owner::Login { tag, steps };
                    self.send_internal(next, owner, slot.deadline);
                }
                LoginStep::Done(Ok(())) => {
                    log::debug!("AMI login accepted for {}", steps.credentials().username);
                    self.credentials = Some(steps.credentials().clone());
                    match tag {
                        Some(tag) => self.outputs.push_back(Output::Reply {
                            id,
                            tag,
                            result: Ok(Response::new(&slot.name, response)),
                        }),
                        None => self.replay_all(now),
                    }
                }
                LoginStep::Done(Err(e)) => self.fail(id, Owner::Login { tag, steps }, e),
            },
            Owner::Replay => {
                if !is(response.response(), "Success") {
                    log::warn!(
                        "AMI: replayed action refused after reconnect: {:?}",
                        response.message_text()
                    );
                }
                self.replays_pending = self.replays_pending.saturating_sub(1);
                if self.replays_pending == 0 && self.phase == Phase::Restoring {
                    self.restored(now);
                }
            }
            Owner::Keepalive => {
                self.ping_in_flight = false;
                self.next_ping = self.keepalive.and_then(|k| now.checked_add(k));
            }
        }
    }

    /// An action ends without a reply: its owner learns why.
    fn fail(&mut self, id: String, owner: Owner<T>, err: AmiError) {
        match owner {
            Owner::User { tag, .. } | Owner::Login { tag: Some(tag), .. } => {
                self.outputs.push_back(Output::Reply {
                    id,
                    tag,
                    result: Err(err),
                })
            }
            // Restoring a reconnection failed: this transport is no good.
            Owner::Login { tag: None, .. } | Owner::Replay => self.close(err),
            Owner::Keepalive => {
                self.ping_in_flight = false;
                if err.is_timeout() {
                    log::warn!("AMI keepalive: {err}; dropping the connection");
                    self.close(AmiError::Disconnected(DisconnectReason::KeepaliveTimeout));
                }
            }
        }
    }

    /// Keeps a successful `Filter`/`Events` action for a reconnection: only
    /// the last `Events` mask matters, and a filter added twice is replayed
    /// once.
    fn remember(&mut self, m: Message) {
        if is(m.get("Action"), "Events") {
            self.replay.retain(|r| !is(r.get("Action"), "Events"));
        }
        if !self.replay.contains(&m) {
            self.replay.push(m);
        }
    }

    /// A message the decoder refused: to the action whose ActionID it
    /// carries, if one waits, or out as a protocol error.
    fn on_refused(&mut self, e: DecodeError) {
        let id = e
            .partial()
            .filter(|p| !p.is_event())
            .and_then(|p| p.action_id())
            .map(str::to_owned);
        if let Some((id, slot)) = id.and_then(|id| self.slots.remove(&id)) {
            log::warn!("AMI reply to {id} refused: {}", crate::ErrorChain(&e));
            self.fail(id, slot.owner, AmiError::Protocol(e));
            return;
        }
        self.outputs.push_back(Output::ProtocolError(e));
    }
}
