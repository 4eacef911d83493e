//! The in-memory Asterisk of [`AriServer`](super::AriServer): channels,
//! bridges, playbacks, Stasis applications and their WebSockets, timers, and
//! the JSON shapes of a real Asterisk 22 (`shared/fixtures/asterisk-22`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use serde_json::{json, Map, Value};

use super::time::{self, Ids};

/// Settings the world needs.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub asterisk_id: String,
    pub playback_duration: Duration,
    pub answer_delay: Duration,
    pub sounds: Option<Vec<String>>,
}

/// What a WebSocket thread is asked to do.
#[derive(Debug)]
pub(crate) enum WsCmd {
    /// One text frame.
    Text(String),
    /// Bytes written on the stream as they are.
    Raw(Vec<u8>),
    /// A clean close (close frame, then the TCP close).
    Close,
    /// The first bytes of a frame, then the TCP close.
    Cut,
}

/// An open events WebSocket.
#[derive(Debug)]
pub(crate) struct Socket {
    pub apps: Vec<String>,
    pub tx: Sender<WsCmd>,
}

/// A Stasis application.
#[derive(Debug, Default)]
pub(crate) struct App {
    /// The WebSocket that owns it, if one is open.
    pub socket: Option<u64>,
    pub subscribe_all: bool,
}

/// A caller id: (name, number).
pub(crate) type CallerId = (String, String);

/// A channel.
#[derive(Debug)]
pub(crate) struct Channel {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub caller: CallerId,
    pub connected: CallerId,
    pub context: String,
    pub exten: String,
    pub priority: i64,
    pub app_name: String,
    pub app_data: String,
    pub created: String,
    pub language: String,
    pub vars: BTreeMap<String, String>,
    /// The Stasis application it is in, if any.
    pub stasis: Option<String>,
    /// Applications receiving its events; true for a subscription that
    /// outlives StasisEnd (originate, create, explicit subscribe).
    pub watchers: BTreeMap<String, bool>,
    pub bridge: Option<String>,
    /// Created by `POST /channels/create` and not dialled yet.
    pub undialled: bool,
    /// Where an originated channel goes once answered.
    pub on_answer: Option<OnAnswer>,
}

/// Where an originated channel goes once the far end answers.
#[derive(Clone, Debug)]
pub(crate) enum OnAnswer {
    /// Into a Stasis application, with arguments.
    Stasis(String, Vec<String>),
    /// Into the dialplan: context, extension, priority.
    Dialplan(String, String, i64),
}

impl Channel {
    /// The `Channel` JSON object of ARI.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": {"name": self.caller.0, "number": self.caller.1},
            "connected": {"name": self.connected.0, "number": self.connected.1},
            "accountcode": "",
            "dialplan": {
                "context": self.context,
                "exten": self.exten,
                "priority": self.priority,
                "app_name": self.app_name,
                "app_data": self.app_data,
            },
            "creationtime": self.created,
            "language": self.language,
        })
    }
}

/// A bridge.
#[derive(Debug)]
pub(crate) struct Bridge {
    pub id: String,
    pub bridge_type: &'static str,
    pub name: String,
    pub channels: Vec<String>,
    pub created: String,
    /// Applications subscribed to it, each with its count of subscriptions
    /// (one per channel of the application in it, one per explicit
    /// subscription), as `res/stasis/app.c` counts them: at 0 the
    /// application no longer sees the bridge's events.
    pub watchers: BTreeMap<String, u32>,
}

impl Bridge {
    /// The `Bridge` JSON object of ARI.
    pub fn json(&self) -> Value {
        let technology = if self.bridge_type == "holding" {
            "holding_bridge"
        } else {
            "simple_bridge"
        };
        json!({
            "id": self.id,
            "technology": technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": self.channels,
            "creationtime": self.created,
            "video_mode": "talker",
        })
    }
}

/// A playback.
#[derive(Debug)]
pub(crate) struct Playback {
    pub id: String,
    pub media: Vec<String>,
    pub index: usize,
    /// `channel:ID` or `bridge:ID`.
    pub target: String,
    pub language: String,
    /// queued, playing, paused, continuing, done, failed.
    pub state: &'static str,
    /// Bumped to cancel the pending timer.
    pub generation: u64,
    /// When the current media ends (while playing).
    pub due: Option<Instant>,
    /// What was left of the current media when paused.
    pub remaining: Option<Duration>,
}

impl Playback {
    /// The `Playback` JSON object of ARI.
    pub fn json(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(self.id));
        o.insert(
            "media_uri".into(),
            json!(self.media.get(self.index).cloned().unwrap_or_default()),
        );
        if let Some(next) = self.media.get(self.index + 1) {
            o.insert("next_media_uri".into(), json!(next));
        }
        o.insert("target_uri".into(), json!(self.target));
        o.insert("language".into(), json!(self.language));
        o.insert("state".into(), json!(self.state));
        Value::Object(o)
    }
}

/// Work for the timer thread.
#[derive(Clone, Debug)]
pub(crate) enum Task {
    /// An originated channel is answered and enters its application.
    Answer(String),
    /// A channel made by `channels/create` and dialled is answered.
    Dialled(String),
    /// A playback moves on (starts, or its current media ends).
    PlaybackStep(String, u64),
}

#[derive(Debug)]
pub(crate) struct Timer {
    pub at: Instant,
    pub task: Task,
}

/// Everything the emulated Asterisk holds, behind one lock so that events
/// leave in the order the state changed.
#[derive(Debug)]
pub(crate) struct World {
    pub cfg: Config,
    pub started: String,
    pub channels: Vec<Channel>,
    pub bridges: Vec<Bridge>,
    pub playbacks: Vec<Playback>,
    pub apps: BTreeMap<String, App>,
    pub sockets: BTreeMap<u64, Socket>,
    pub timers: Vec<Timer>,
    pub globals: BTreeMap<String, String>,
    /// The last [`LOG_CAP`] events sent (or that would have been sent), in
    /// order.
    pub log: VecDeque<Value>,
    pub ids: Ids,
    epoch: u64,
    next_unique: u64,
    next_name: u64,
}

/// How many events, and how many requests, the server remembers: the most
/// recent ones.
pub(crate) const LOG_CAP: usize = 10_000;

/// Appends `v`, dropping the oldest entry beyond [`LOG_CAP`].
pub(crate) fn push_capped<T>(log: &mut VecDeque<T>, v: T) {
    if log.len() >= LOG_CAP {
        log.pop_front();
    }
    log.push_back(v);
}

/// How many frames a WebSocket may have waiting before it counts as dead.
pub(crate) const WS_QUEUE: usize = 4096;

impl World {
    pub fn new(cfg: Config) -> World {
        World {
            cfg,
            started: time::now(),
            channels: Vec::new(),
            bridges: Vec::new(),
            playbacks: Vec::new(),
            apps: BTreeMap::new(),
            sockets: BTreeMap::new(),
            timers: Vec::new(),
            globals: BTreeMap::new(),
            log: VecDeque::new(),
            ids: Ids::new(),
            epoch: time::unix_secs(),
            next_unique: 0,
            next_name: 0,
        }
    }

    /// A fresh Asterisk-style unique id (`1795418504.10`).
    pub fn unique_id(&mut self) -> String {
        self.next_unique += 1;
        format!("{}.{}", self.epoch, self.next_unique)
    }

    /// The channel name for a dial string: `PJSIP/alice-00000001`,
    /// `Local/100@test-00000002;1`.
    pub fn channel_name(&mut self, endpoint: &str) -> String {
        self.next_name += 1;
        let local = endpoint
            .split('/')
            .next()
            .is_some_and(|t| t.eq_ignore_ascii_case("Local"));
        let base = endpoint.split('/').take(2).collect::<Vec<_>>().join("/");
        format!(
            "{base}-{:08x}{}",
            self.next_name,
            if local { ";1" } else { "" }
        )
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }

    pub fn bridge(&self, id: &str) -> Option<&Bridge> {
        self.bridges.iter().find(|b| b.id == id)
    }

    pub fn bridge_mut(&mut self, id: &str) -> Option<&mut Bridge> {
        self.bridges.iter_mut().find(|b| b.id == id)
    }

    pub fn playback(&self, id: &str) -> Option<&Playback> {
        self.playbacks.iter().find(|p| p.id == id)
    }

    pub fn playback_mut(&mut self, id: &str) -> Option<&mut Playback> {
        self.playbacks.iter_mut().find(|p| p.id == id)
    }

    /// Runs `task` after `delay` (on the timer thread).
    pub fn schedule(&mut self, delay: Duration, task: Task) {
        self.timers.push(Timer {
            at: Instant::now() + delay,
            task,
        });
    }

    /// The earliest timer, if any.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.iter().map(|t| t.at).min()
    }

    /// Removes and returns one task that is due.
    pub fn take_due(&mut self, now: Instant) -> Option<Task> {
        let i = self
            .timers
            .iter()
            .enumerate()
            .filter(|(_, t)| t.at <= now)
            .min_by_key(|(_, t)| t.at)
            .map(|(i, _)| i)?;
        Some(self.timers.remove(i).task)
    }

    /// The `Application` JSON object of ARI.
    pub fn app_json(&self, name: &str) -> Value {
        let channels: Vec<&str> = self
            .channels
            .iter()
            .filter(|c| c.watchers.contains_key(name))
            .map(|c| c.id.as_str())
            .collect();
        let bridges: Vec<&str> = self
            .bridges
            .iter()
            .filter(|b| b.watchers.contains_key(name))
            .map(|b| b.id.as_str())
            .collect();
        json!({
            "name": name,
            "channel_ids": channels,
            "bridge_ids": bridges,
            "endpoint_ids": [],
            "device_names": [],
            "events_allowed": [],
            "events_disallowed": [],
        })
    }

    /// Forgets applications that have no WebSocket and nothing subscribed,
    /// as Asterisk cleans up finished applications.
    pub fn prune_apps(&mut self) {
        let busy: BTreeSet<String> = self
            .channels
            .iter()
            .flat_map(|c| c.watchers.keys().cloned())
            .chain(self.bridges.iter().flat_map(|b| b.watchers.keys().cloned()))
            .collect();
        self.apps
            .retain(|name, app| app.socket.is_some() || busy.contains(name));
    }

    /// Registers a WebSocket for `apps`. An application another socket
    /// holds is taken over: that socket gets `ApplicationReplaced`.
    pub fn register_socket(
        &mut self,
        id: u64,
        apps: Vec<String>,
        subscribe_all: bool,
        tx: Sender<WsCmd>,
    ) {
        for name in &apps {
            let previous = self.apps.get(name).and_then(|a| a.socket);
            if let Some(old) = previous {
                let ev = json!({
                    "type": "ApplicationReplaced",
                    "timestamp": time::now(),
                    "application": name,
                });
                self.send_to_socket(old, &ev);
                if let Some(s) = self.sockets.get_mut(&old) {
                    s.apps.retain(|a| a != name);
                }
            }
            let app = self.apps.entry(name.clone()).or_default();
            app.socket = Some(id);
            app.subscribe_all = subscribe_all;
        }
        self.sockets.insert(id, Socket { apps, tx });
    }

    /// Forgets a WebSocket; its applications become inactive.
    pub fn unregister_socket(&mut self, id: u64) {
        if let Some(s) = self.sockets.remove(&id) {
            for name in s.apps {
                if let Some(app) = self.apps.get_mut(&name) {
                    if app.socket == Some(id) {
                        app.socket = None;
                        app.subscribe_all = false;
                    }
                }
            }
        }
        self.prune_apps();
    }

    /// Queues a frame on one socket; a socket whose queue is full or whose
    /// thread is gone is dropped.
    fn send_to_socket(&mut self, id: u64, ev: &Value) {
        let Some(s) = self.sockets.get(&id) else {
            return;
        };
        match s.tx.try_send(WsCmd::Text(ev.to_string())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                log::warn!("AriServer: WebSocket {id} is not reading; dropping it");
                self.unregister_socket(id);
            }
            Err(TrySendError::Disconnected(_)) => self.unregister_socket(id),
        }
    }

    /// Sends an event (a JSON object with `type` and `timestamp`) to the
    /// applications in `watchers` and to every application subscribed to
    /// all, each copy with its `application` and the `asterisk_id`.
    pub fn emit<'a>(&mut self, watchers: impl IntoIterator<Item = &'a String>, ev: Value) {
        let mut to: BTreeSet<String> = watchers.into_iter().cloned().collect();
        to.extend(
            self.apps
                .iter()
                .filter(|(_, a)| a.subscribe_all && a.socket.is_some())
                .map(|(n, _)| n.clone()),
        );
        self.emit_exactly(to, ev);
    }

    /// Sends an event to these applications only (Asterisk sends
    /// `StasisStart` and `StasisEnd` to the application concerned alone).
    pub fn emit_exactly(&mut self, to: impl IntoIterator<Item = String>, ev: Value) {
        for app in to {
            let mut copy = ev.clone();
            if let Value::Object(o) = &mut copy {
                o.insert("asterisk_id".into(), json!(self.cfg.asterisk_id));
                o.insert("application".into(), json!(app));
            }
            if let Some(socket) = self.apps.get(&app).and_then(|a| a.socket) {
                self.send_to_socket(socket, &copy);
            }
            push_capped(&mut self.log, copy);
        }
    }

    /// Sends a ready-made event as is: to the sockets holding its
    /// `application`, or to every socket when it names none.
    pub fn push_raw_event(&mut self, ev: Value) {
        let app = ev
            .get("application")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let targets: Vec<u64> = match &app {
            Some(name) => self
                .apps
                .get(name)
                .and_then(|a| a.socket)
                .into_iter()
                .collect(),
            None => self.sockets.keys().copied().collect(),
        };
        for id in targets {
            self.send_to_socket(id, &ev);
        }
        push_capped(&mut self.log, ev);
    }

    /// Sends a command to every socket.
    pub fn broadcast(&mut self, make: impl Fn() -> WsCmd) {
        let ids: Vec<u64> = self.sockets.keys().copied().collect();
        for id in ids {
            let gone = self
                .sockets
                .get(&id)
                .is_some_and(|s| s.tx.try_send(make()).is_err());
            if gone {
                self.unregister_socket(id);
            }
        }
    }
}

/// An event with its `type` and `timestamp` and the given fields.
pub(crate) fn event(kind: &str, fields: Value) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!(kind));
    o.insert("timestamp".into(), json!(time::now()));
    if let Value::Object(f) = fields {
        o.extend(f);
    }
    Value::Object(o)
}

/// Asterisk's text for a hangup cause (`ast_cause2str`).
pub(crate) fn cause_text(cause: i64) -> &'static str {
    match cause {
        1 => "Unallocated (unassigned) number",
        2 => "No route to specified transmit network",
        3 => "No route to destination",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        20 => "Subscriber absent",
        21 => "Call Rejected",
        26 => "Answered elsewhere",
        27 => "Destination out of order",
        28 => "Invalid number format",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        41 => "Temporary failure",
        42 => "Switching equipment congestion",
        44 => "Requested channel not available",
        58 => "Bearer capability not available",
        127 => "Interworking, unspecified",
        _ => "Unknown",
    }
}

/// The cause for a hangup `reason` of `DELETE /channels/{id}`.
pub(crate) fn reason_cause(reason: &str) -> Option<i64> {
    Some(match reason {
        "normal" => 16,
        "busy" => 17,
        "congestion" => 34,
        "no_answer" => 19,
        "timeout" => 18,
        "rejected" => 21,
        "unallocated" => 1,
        "normal_unspecified" => 31,
        "number_incomplete" => 28,
        "codec_mismatch" => 58,
        "interworking" => 127,
        "failure" => 38,
        "answered_elsewhere" => 26,
        _ => return None,
    })
}

/// `"Name" <number>`, `Name <number>` or `number`, as `ast_callerid_parse`
/// splits them.
pub(crate) fn parse_caller_id(s: &str) -> CallerId {
    let s = s.trim();
    if let (Some(lt), true) = (s.rfind('<'), s.ends_with('>')) {
        let number = s[lt + 1..s.len() - 1].trim().to_string();
        let name = s[..lt].trim().trim_matches('"').trim().to_string();
        return (name, number);
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || "+*#".contains(c)) {
        return (String::new(), s.to_string());
    }
    (s.trim_matches('"').to_string(), String::new())
}

/// Stasis arguments: the comma-separated list of `appArgs` (none when
/// empty).
pub(crate) fn split_args(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_keep_the_most_recent() {
        let mut log = VecDeque::new();
        for i in 0..LOG_CAP + 3 {
            push_capped(&mut log, i);
        }
        assert_eq!(log.len(), LOG_CAP);
        assert_eq!((log.front(), log.back()), (Some(&3), Some(&(LOG_CAP + 2))));
    }

    #[test]
    fn caller_ids() {
        assert_eq!(
            parse_caller_id("\"Ari Test\" <7000>"),
            ("Ari Test".into(), "7000".into())
        );
        assert_eq!(parse_caller_id("Bob <1>"), ("Bob".into(), "1".into()));
        assert_eq!(parse_caller_id("1234"), (String::new(), "1234".into()));
        assert_eq!(parse_caller_id(""), (String::new(), String::new()));
    }

    #[test]
    fn names() {
        let mut w = World::new(Config {
            asterisk_id: "x".into(),
            playback_duration: Duration::ZERO,
            answer_delay: Duration::ZERO,
            sounds: None,
        });
        assert_eq!(w.channel_name("PJSIP/alice"), "PJSIP/alice-00000001");
        assert_eq!(
            w.channel_name("Local/400@test/n"),
            "Local/400@test-00000002;1"
        );
        assert!(w.unique_id().ends_with(".1"));
    }
}
