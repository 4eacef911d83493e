//! The AMI emulator's built-in answers: a small, believable Asterisk.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::reply::{Reply, Step};
use crate::ami::Message;
use crate::testing::agi::model::State as AgiModel;

/// One emulated channel.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) name: String,
    pub(crate) uniqueid: String,
    pub(crate) linkedid: String,
    pub(crate) state: u8,
    pub(crate) caller_num: String,
    pub(crate) caller_name: String,
    pub(crate) connected_num: String,
    pub(crate) connected_name: String,
    pub(crate) context: String,
    pub(crate) exten: String,
    pub(crate) priority: u32,
    pub(crate) application: String,
    pub(crate) data: String,
    pub(crate) vars: BTreeMap<String, String>,
}

fn state_desc(s: u8) -> &'static str {
    match s {
        0 => "Down",
        4 => "Ring",
        5 => "Ringing",
        6 => "Up",
        7 => "Busy",
        _ => "Unknown",
    }
}

impl Channel {
    /// The channel snapshot headers, as Asterisk 22 writes them.
    pub(crate) fn snapshot(&self, m: &mut Message) {
        m.push("Channel", &self.name);
        m.push("ChannelState", &self.state.to_string());
        m.push("ChannelStateDesc", state_desc(self.state));
        m.push("CallerIDNum", &self.caller_num);
        m.push("CallerIDName", &self.caller_name);
        m.push("ConnectedLineNum", &self.connected_num);
        m.push("ConnectedLineName", &self.connected_name);
        m.push("Language", "en");
        m.push("AccountCode", "");
        m.push("Context", &self.context);
        m.push("Exten", &self.exten);
        m.push("Priority", &self.priority.to_string());
        m.push("Uniqueid", &self.uniqueid);
        m.push("Linkedid", &self.linkedid);
    }

    pub(crate) fn event(&self, name: &str) -> Message {
        let mut m = Message::with_capacity(20, 400);
        m.push("Event", name);
        m.push("Privilege", "call,all");
        self.snapshot(&mut m);
        m
    }

    /// A `DialBegin`/`DialEnd` of an originate towards this channel: as
    /// dial.c sends it with no calling channel, only `Dest*` headers.
    fn dial_event(&self, name: &str) -> Message {
        let mut m = Message::with_capacity(20, 500);
        m.push("Event", name);
        m.push("Privilege", "call,all");
        self.push_dest(&mut m);
        m
    }

    /// The snapshot headers as the other party of an event (`Dest…`).
    pub(crate) fn push_dest(&self, m: &mut Message) {
        self.push_as("Dest", m);
    }

    /// The snapshot headers, each name after `prefix` (`Transferer…`).
    pub(crate) fn push_as(&self, prefix: &str, m: &mut Message) {
        let mut own = Message::with_capacity(20, 400);
        self.snapshot(&mut own);
        push_prefixed(prefix, &own, m);
    }
}

/// Every header of `from` into `to`, each name after `prefix`.
pub(crate) fn push_prefixed(prefix: &str, from: &Message, to: &mut Message) {
    for (k, v) in from.iter() {
        to.push(&format!("{prefix}{k}"), v);
    }
}

/// Emulated Asterisk state shared by all connections.
#[derive(Default)]
pub(crate) struct World {
    pub(crate) channels: Vec<Channel>,
    /// Channels in AsyncAGI, with the model that answers their commands.
    pub(crate) async_agi: HashMap<String, AgiModel>,
    /// Channels whose AsyncAGI session has ended.
    pub(crate) async_done: HashMap<String, AgiModel>,
    /// `;2` halves of originated Local channels into the test dialplan's
    /// `300` (`AGI(agi:async)`, never answered): when their session ends
    /// the pair hangs up, then the originate fails with this
    /// `OriginateResponse` (`None` for a synchronous Originate).
    pub(crate) async_originates: HashMap<String, Option<Message>>,
    pub(crate) globals: BTreeMap<String, String>,
    pub(crate) next_id: u64,
    pub(crate) started: u64,
    /// Bridges, queue, device and hint states.
    pub(crate) pbx: super::pbx::Pbx,
}

impl World {
    pub(crate) fn new_uniqueid(&mut self) -> String {
        self.next_id += 1;
        format!("{}.{}", self.started, self.next_id)
    }
}

/// The default answer to `action`, given the emulated world.
pub(crate) fn answer(action: &Message, world: &mut World) -> Reply {
    let name = action.get("Action").unwrap_or("").to_ascii_lowercase();
    let get = |h: &str| action.get(h).unwrap_or("").to_owned();
    match name.as_str() {
        "ping" => Reply::none().response(
            Message::new()
                .with("Response", "Success")
                .with("Ping", "Pong")
                .with("Timestamp", &format!("{}.000000", world.started)),
        ),
        "command" => command(&get("Command"), world),
        "coreshowchannels" => core_show_channels(world),
        "corestatus" => Reply::none().response(
            Message::new()
                .with("Response", "Success")
                .with("CoreStartupDate", "2026-11-23")
                .with("CoreStartupTime", "07:21:08")
                .with("CoreReloadDate", "2026-11-23")
                .with("CoreReloadTime", "07:21:08")
                .with("CoreCurrentCalls", &world.channels.len().to_string())
                .with("CoreProcessedCalls", &world.next_id.to_string()),
        ),
        "coresettings" => Reply::none().response(
            Message::new()
                .with("Response", "Success")
                .with("AMIversion", "11.0.0")
                .with("AsteriskVersion", "22.10.1")
                .with("SystemName", "")
                .with("CoreMaxCalls", "0")
                .with("CoreMaxLoadAvg", "0.000000")
                .with("CoreRunUser", "asterisk")
                .with("CoreRunGroup", "asterisk"),
        ),
        "getvar" => getvar(action, world),
        "setvar" => setvar(action, world),
        "originate" => originate(action, world),
        "hangup" => hangup(&get("Channel"), world),
        "status" => status(action, world),
        "agi" => agi(action, world),
        "playdtmf" => super::dtmf::play_dtmf(action, world),
        "blindtransfer" => super::transfer::blind(action, world),
        "atxfer" => super::transfer::attended(action, world),
        "filter" => Reply::success_with("Filter Added Successfully"),
        "userevent" => {
            let mut ev = Message::new()
                .with("Event", "UserEvent")
                .with("Privilege", "user,all");
            for (n, v) in action.iter() {
                if !n.eq_ignore_ascii_case("Action") && !n.eq_ignore_ascii_case("ActionID") {
                    ev.push(n, v);
                }
            }
            Reply::success().broadcast(ev)
        }
        other => super::pbx::answer(other, action, world).unwrap_or_else(|| {
            Reply::error(&format!(
                "Invalid/unknown command: {}. Use Action: ListCommands to show available commands.",
                action.get("Action").unwrap_or("")
            ))
        }),
    }
}

fn command(cmd: &str, world: &World) -> Reply {
    let mut m = Message::new()
        .with("Response", "Success")
        .with("Message", "Command output follows");
    let lines: Vec<String> = match cmd.trim() {
        "core show version" => {
            vec!["Asterisk 22.10.1 built by astrix @ emulator on a x86_64 running Linux".into()]
        }
        "core show channels" => {
            let mut v = vec![format!(
                "{:<64} {:<32} {:<7} {}",
                "Channel", "Location", "State", "Application(Data)"
            )];
            for c in &world.channels {
                v.push(format!(
                    "{:<64} {:<32} {:<7} {}({})",
                    c.name,
                    format!("{}@{}:{}", c.exten, c.context, c.priority),
                    state_desc(c.state),
                    c.application,
                    c.data
                ));
            }
            v.push(format!("{} active channels", world.channels.len()));
            v.push(format!("{} active calls", world.channels.len()));
            v.push(String::new());
            v
        }
        other => {
            m = Message::new()
                .with("Response", "Error")
                .with("Message", "Command output follows");
            vec![format!("No such command '{other}' (type 'core show help {other}' for other possible commands)")]
        }
    };
    for l in &lines {
        m.push("Output", l);
    }
    Reply::none().response(m)
}

fn core_show_channels(world: &World) -> Reply {
    let mut r = Reply::none().response(
        Message::new()
            .with("Response", "Success")
            .with("EventList", "start")
            .with("Message", "Channels will follow"),
    );
    for c in &world.channels {
        let mut m = Message::new().with("Event", "CoreShowChannel");
        c.snapshot(&mut m);
        m.push("Application", &c.application);
        m.push("ApplicationData", &c.data);
        m.push("Duration", "00:00:01");
        let bridge = world
            .pbx
            .bridges
            .iter()
            .find(|b| b.channels.contains(&c.name));
        m.push("BridgeId", bridge.map_or("", |b| b.id.as_str()));
        r = r.list_event(m);
    }
    r.list_event(
        Message::new()
            .with("Event", "CoreShowChannelsComplete")
            .with("EventList", "Complete")
            .with("ListItems", &world.channels.len().to_string()),
    )
}

fn status(action: &Message, world: &World) -> Reply {
    let wanted: Vec<&str> = action
        .get("Variables")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut r = Reply::none().response(
        Message::new()
            .with("Response", "Success")
            .with("EventList", "start")
            .with("Message", "Channel status will follow"),
    );
    for c in &world.channels {
        let mut m = Message::new()
            .with("Event", "Status")
            .with("Privilege", "Call");
        c.snapshot(&mut m);
        m.push("Type", "Local");
        m.push("Application", &c.application);
        m.push("Data", &c.data);
        for v in &wanted {
            let value = c.vars.get(*v).map(String::as_str).unwrap_or("");
            m.push("Variable", &format!("{v}={value}"));
        }
        r = r.list_event(m);
    }
    r.list_event(
        Message::new()
            .with("Event", "StatusComplete")
            .with("EventList", "Complete")
            .with("ListItems", &world.channels.len().to_string())
            .with("Items", &world.channels.len().to_string()),
    )
}

fn getvar(action: &Message, world: &World) -> Reply {
    let Some(var) = action.get("Variable") else {
        return Reply::error("No variable specified");
    };
    let value = match action.get("Channel") {
        Some(ch) => match world.channels.iter().find(|c| c.name == ch) {
            Some(c) => c.vars.get(var).cloned().unwrap_or_default(),
            None => return Reply::error("No such channel"),
        },
        None => world.globals.get(var).cloned().unwrap_or_default(),
    };
    Reply::none().response(
        Message::new()
            .with("Response", "Success")
            .with("Variable", var)
            .with("Value", &value),
    )
}

fn setvar(action: &Message, world: &mut World) -> Reply {
    let Some(var) = action.get("Variable") else {
        return Reply::error("No variable specified");
    };
    let value = action.get("Value").unwrap_or("");
    if let Some(events) = super::pbx::set_device_state(var, value, world) {
        return events
            .into_iter()
            .fold(Reply::success_with("Variable Set"), Reply::broadcast);
    }
    let event = match action.get("Channel") {
        Some(ch) => match world.channels.iter_mut().find(|c| c.name == ch) {
            Some(c) => {
                c.vars.insert(var.into(), value.into());
                let mut e = c.event("VarSet");
                e.set("Privilege", "dialplan,all");
                e
            }
            None => return Reply::error("No such channel"),
        },
        None => {
            world.globals.insert(var.into(), value.into());
            Message::new()
                .with("Event", "VarSet")
                .with("Privilege", "dialplan,all")
                .with("Channel", "none")
                .with("Uniqueid", "none")
        }
    };
    Reply::success_with("Variable Set").broadcast(event.with("Variable", var).with("Value", value))
}

fn originate(action: &Message, world: &mut World) -> Reply {
    let Some(chan) = action.get("Channel").filter(|c| !c.is_empty()) else {
        return Reply::error("Channel not specified");
    };
    let is_async = action
        .get("Async")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"));
    let uid = match action.get("ChannelId").filter(|c| !c.is_empty()) {
        Some(id) => {
            world.next_id += 1;
            id.to_owned()
        }
        None => world.new_uniqueid(),
    };
    let n = world.next_id;
    // `;1`/`;2` name the halves of a Local channel only.
    let is_local = chan
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("Local/"));
    let name = if is_local {
        format!("{chan}-{n:08x};1")
    } else {
        format!("{chan}-{n:08x}")
    };
    let (caller_name, caller_num) = split_caller_id(action.get("CallerID").unwrap_or(""));
    let mut ch = Channel {
        name,
        uniqueid: uid.clone(),
        linkedid: uid.clone(),
        state: 0,
        caller_num,
        caller_name,
        connected_num: "<unknown>".into(),
        connected_name: "<unknown>".into(),
        context: action.get("Context").unwrap_or("default").into(),
        exten: action.get("Exten").unwrap_or("s").into(),
        priority: action
            .get("Priority")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1),
        application: action.get("Application").unwrap_or("AppDial").into(),
        data: action.get("Data").unwrap_or("").into(),
        vars: BTreeMap::new(),
    };
    for v in action.get_all("Variable") {
        let (k, val) = v.split_once('=').unwrap_or((v, ""));
        ch.vars.insert(k.into(), val.into());
    }
    // Channels whose name says so fail like a busy, congested or
    // unanswered line, as do Local channels into the test dialplan's 103
    // (Busy), 105 (Congestion) and 101 (rings).
    let lower = chan.to_ascii_lowercase();
    let failure = if lower.contains("busy") || lower == "local/103@test" {
        Some((5, 17, "User busy"))
    } else if lower.contains("congestion") || lower == "local/105@test" {
        // pbx_builtins.c: Congestion() sets cause 34 and state Busy; the
        // originate fails with AST_CONTROL_CONGESTION (8).
        Some((8, 34, "Circuit/channel congestion"))
    } else if lower.contains("noanswer") || lower == "local/101@test" {
        Some((3, 19, "User alerting, no answer"))
    } else {
        None
    };
    // A Local channel's other half, running the dialplan at its target;
    // both halves start there (core_unreal.c), and its unique id is
    // `OtherChannelId`, else `ChannelId;2`, else a new one.
    let mut twin = is_local.then(|| {
        let target = &chan[6..];
        let (exten, context) = target.split_once('@').unwrap_or((target, "default"));
        let context = context.split('/').next().unwrap_or(context);
        ch.context = context.into();
        ch.exten = exten.into();
        ch.priority = 1;
        let uniqueid = match (
            action.get("OtherChannelId").filter(|c| !c.is_empty()),
            action.get("ChannelId").filter(|c| !c.is_empty()),
        ) {
            (Some(other), _) => other.to_owned(),
            (None, Some(id)) => format!("{id};2"),
            (None, None) => world.new_uniqueid(),
        };
        Channel {
            name: format!("{chan}-{n:08x};2"),
            linkedid: ch.linkedid.clone(),
            uniqueid,
            state: 4,
            context: context.into(),
            exten: exten.into(),
            priority: 1,
            application: "AppDial2".into(),
            data: "(Outgoing Line)".into(),
            ..ch.clone()
        }
    });
    let mut resp_event = Message::new()
        .with("Event", "OriginateResponse")
        .with("Privilege", "call,all");
    if let Some(id) = action.action_id() {
        resp_event.push("ActionID", id);
    }
    let step = Duration::from_millis(20);
    let mut r = if is_async {
        Reply::success_with("Originate successfully queued").delay(step)
    } else {
        Reply::none()
    };
    r = r.broadcast(ch.event("Newchannel"));
    if let Some(t) = &twin {
        r = r.broadcast(t.event("Newchannel"));
    }
    // The test dialplan's 300: the ;2 half sets ASTRIX_TAG and enters
    // AsyncAGI without answering; the originate waits for it.
    if let Some(mut t) = twin.take_if(|_| lower == "local/300@test") {
        t.priority = 2;
        t.application = "AGI".into();
        t.data = "agi:async".into();
        t.vars.insert("ASTRIX_TAG".into(), "async-300".into());
        let start = world.enter_async_agi(&t, &[]);
        resp_event.push("Response", "Failure");
        resp_event.push("Channel", chan);
        push_target(&mut resp_event, action);
        resp_event.push("Reason", "0");
        resp_event.push("Uniqueid", &ch.uniqueid);
        resp_event.push("CallerIDNum", "<unknown>");
        resp_event.push("CallerIDName", "<unknown>");
        world
            .async_originates
            .insert(t.name.clone(), is_async.then_some(resp_event));
        world.channels.push(ch);
        world.channels.push(t);
        r = r.delay(step).broadcast(start);
        return if is_async {
            r
        } else {
            sync_answer(r, Reply::error("Originate failed"))
        };
    }
    // dial.c, as Asterisk 22 reports an originate: DialBegin towards the
    // channel, DialEnd with its DialStatus.
    r = r.broadcast(ch.dial_event("DialBegin"));
    if twin.is_none() {
        ch.state = 5;
        r = r.delay(step).broadcast(ch.event("Newstate"));
    }
    match failure {
        Some((reason, cause, txt)) => {
            let status = match reason {
                5 => "BUSY",
                8 => "CONGESTION",
                _ => "NOANSWER",
            };
            // Busy and congestion refuse the call; no answer rings.
            let refused = reason != 3;
            let dial_end = ch.dial_event("DialEnd").with("DialStatus", status);
            if let Some(t) = &mut twin {
                // Asterisk 22, busy or congestion: the ;2 half goes Busy,
                // the ;1 half ends Down with cause 0, the ;2 half with 17
                // or 34. Not answered: the ;1 half rings (the ;2 half
                // stays in Ring) and both end with 19 when the originate
                // gives up.
                if refused {
                    t.state = 7;
                    r = r.delay(step).broadcast(t.event("Newstate"));
                    r = r.broadcast(dial_end);
                    let mut h = ch.event("Hangup");
                    h.push("Cause", "0");
                    h.push("Cause-txt", "Unknown");
                    r = r.delay(step).gone(&ch.name).broadcast(h);
                } else {
                    ch.state = 5;
                    r = r.delay(step).broadcast(ch.event("Newstate"));
                    r = r.broadcast(dial_end);
                }
            } else {
                ch.state = if refused { 7 } else { 5 };
                r = r.delay(step).broadcast(dial_end);
                let mut h = ch.event("Hangup");
                h.push("Cause", &cause.to_string());
                h.push("Cause-txt", txt);
                r = r.delay(step).gone(&ch.name).broadcast(h);
            }
            resp_event.push("Response", "Failure");
            resp_event.push("Channel", chan);
            push_target(&mut resp_event, action);
            resp_event.push("Reason", &reason.to_string());
            // manager.c: the ChannelId asked for, else `<unknown>`.
            resp_event.push("Uniqueid", action.get("ChannelId").unwrap_or("<unknown>"));
            resp_event.push("CallerIDNum", "<unknown>");
            resp_event.push("CallerIDName", "<unknown>");
            if is_async {
                r = r.broadcast(resp_event);
            }
            if let Some(t) = &twin {
                let mut h = t.event("Hangup");
                h.push("Cause", &cause.to_string());
                h.push("Cause-txt", txt);
                r = r.gone(&t.name).broadcast(h);
                if !refused {
                    let mut h = ch.event("Hangup");
                    h.push("Cause", &cause.to_string());
                    h.push("Cause-txt", txt);
                    r = r.gone(&ch.name).broadcast(h);
                }
            }
            if !is_async {
                r = sync_answer(r, Reply::error("Originate failed"));
            }
            // The channels exist until their Hangup (the lists show them
            // meanwhile, as Asterisk's would).
            world.channels.push(ch);
            world.channels.extend(twin);
        }
        None => {
            // 600 dials two callees: the originated half hears them ring.
            if let Some(t) = twin
                .as_mut()
                .filter(|t| super::dial::is_dial(&t.context, &t.exten))
            {
                r = r.delay(step).broadcast(super::dial::ringing(&mut ch, t));
            }
            if let Some(t) = &mut twin {
                t.state = 6;
                r = r.delay(step).broadcast(t.event("Newstate"));
            }
            ch.state = 6;
            r = r.delay(step).broadcast(ch.event("Newstate"));
            resp_event.push("Response", "Success");
            resp_event.push("Channel", &ch.name);
            push_target(&mut resp_event, action);
            resp_event.push("Reason", "4");
            resp_event.push("Uniqueid", &ch.uniqueid);
            resp_event.push("CallerIDNum", &ch.caller_num);
            resp_event.push("CallerIDName", &ch.caller_name);
            // manager.c sends OriginateResponse for `Async: true` only.
            if is_async {
                r = r.broadcast(resp_event);
            }
            r = r.broadcast(ch.dial_event("DialEnd").with("DialStatus", "ANSWER"));
            // The ;1 half of a Local channel originated to an extension
            // runs the dialplan there once answered.
            if is_local && action.get("Application").is_none() {
                ch.context = action.get("Context").unwrap_or("default").into();
                ch.exten = action.get("Exten").unwrap_or("s").into();
                ch.priority = action
                    .get("Priority")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
            }
            let mut later = Vec::new();
            if let Some(t) = twin.as_mut().filter(|t| t.context == "test") {
                let exten = t.exten.clone();
                for e in super::pbx::after_answer(&exten, t, world, &mut later) {
                    r = r.broadcast(e);
                }
            }
            if !is_async {
                r = sync_answer(r, Reply::success_with("Originate successfully queued"));
            }
            // Like the test dialplan: extension targets answer, wait 2 s and
            // hang up; `Wait(N)` hangs up after N seconds.
            let wait = match action.get("Application") {
                Some(app) if app.eq_ignore_ascii_case("Wait") => action
                    .get("Data")
                    .and_then(|d| d.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(86_400.0))),
                Some(_) => None,
                None => Some(Duration::from_secs(2)),
            };
            if let Some(w) = wait {
                later.push((w, Step::World(hangup_events, ch.name.clone())));
            }
            // What happens later, in the order of its time.
            later.sort_by_key(|(at, _)| *at);
            let mut now = Duration::ZERO;
            for (at, step) in later {
                r.steps.push(Step::Delay(at.saturating_sub(now)));
                r.steps.push(step);
                now = at;
            }
            world.channels.push(ch);
            world.channels.extend(twin);
        }
    }
    r
}

/// A synchronous Originate's answer, before the events of the call: the
/// manager session's thread, busy with the originate, writes the events
/// queued meanwhile only after the response (manager.c).
fn sync_answer(events: Reply, answer: Reply) -> Reply {
    Reply::none()
        .delay(Duration::from_millis(20))
        .then(answer)
        .then(events)
}

fn push_target(m: &mut Message, action: &Message) {
    if let Some(app) = action.get("Application") {
        m.push("Application", app);
        m.push("Data", action.get("Data").unwrap_or(""));
    } else {
        m.push("Context", action.get("Context").unwrap_or(""));
        m.push("Exten", action.get("Exten").unwrap_or(""));
    }
}

fn split_caller_id(cid: &str) -> (String, String) {
    match (cid.find('<'), cid.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            cid[..a].trim().trim_matches('"').to_owned(),
            cid[a + 1..b].to_owned(),
        ),
        _ if cid.is_empty() => ("<unknown>".into(), "<unknown>".into()),
        _ => ("<unknown>".into(), cid.to_owned()),
    }
}

/// `%XX` for every byte but `A-Za-z0-9-_.!~*'()`, as Asterisk encodes
/// AsyncAGI's `Env:` and `Result:`.
pub(crate) fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl World {
    /// Puts a new answered channel into AsyncAGI (`AGI(agi:async,ARGS)`);
    /// returns the channel and its `AsyncAGIStart` event.
    pub(crate) fn start_async_agi(&mut self, args: &[&str]) -> (String, Message) {
        let uid = self.new_uniqueid();
        let n = self.next_id;
        let ch = Channel {
            name: format!("Local/300@test-{n:08x};1"),
            uniqueid: uid.clone(),
            linkedid: uid,
            state: 6,
            caller_num: "5550300".into(),
            caller_name: "Async Caller".into(),
            connected_num: "<unknown>".into(),
            connected_name: "<unknown>".into(),
            context: "test".into(),
            exten: "300".into(),
            priority: 2,
            application: "AGI".into(),
            data: "agi:async".into(),
            vars: BTreeMap::new(),
        };
        let start = self.enter_async_agi(&ch, args);
        let name = ch.name.clone();
        self.channels.push(ch);
        (name, start)
    }

    /// Starts the AsyncAGI session of `ch` (with its variables), as
    /// `AGI(agi:async,ARGS)` does; its `AsyncAGIStart` event, with the
    /// environment res_agi writes.
    pub(crate) fn enter_async_agi(&mut self, ch: &Channel, args: &[&str]) -> Message {
        let unknown = |v: &str| {
            if v.is_empty() || v == "<unknown>" {
                "unknown".to_owned()
            } else {
                v.to_owned()
            }
        };
        let tech = ch.name.split('/').next().unwrap_or("");
        // Presentation 67 (unavailable) without a caller number, else 0.
        let pres = if unknown(&ch.caller_num) == "unknown" {
            "67"
        } else {
            "0"
        };
        let mut env: Vec<(String, String)> = [
            ("agi_request", "async".to_owned()),
            ("agi_channel", ch.name.clone()),
            ("agi_language", "en".into()),
            ("agi_type", tech.into()),
            ("agi_uniqueid", ch.uniqueid.clone()),
            ("agi_version", "22.10.1".into()),
            ("agi_callerid", unknown(&ch.caller_num)),
            ("agi_calleridname", unknown(&ch.caller_name)),
            ("agi_callingpres", pres.into()),
            ("agi_callingani2", "0".into()),
            ("agi_callington", "0".into()),
            ("agi_callingtns", "0".into()),
            ("agi_dnid", "unknown".into()),
            ("agi_rdnis", "unknown".into()),
            ("agi_context", ch.context.clone()),
            ("agi_extension", ch.exten.clone()),
            ("agi_priority", ch.priority.to_string()),
            ("agi_enhanced", "0.0".into()),
            ("agi_accountcode", String::new()),
            ("agi_threadid", "140389618804416".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (i, a) in args.iter().enumerate() {
            env.push((format!("agi_arg_{}", i + 1), (*a).to_owned()));
        }
        let text: String = env
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect::<String>()
            + "\n";
        let mut start = ch.event("AsyncAGIStart");
        start.set("Privilege", "agi,all");
        start.push("Env", &uri_encode(&text));
        self.async_agi
            .insert(ch.name.clone(), AgiModel::new(&env, &ch.vars));
        start
    }
}

/// The `AGI` action: queue a command on a channel in AsyncAGI; its reply
/// comes as `AsyncAGIExec`, and `ASYNCAGI BREAK` or a hangup ends the
/// session with `AsyncAGIEnd`.
fn agi(action: &Message, world: &mut World) -> Reply {
    let channel = action.get("Channel").unwrap_or("");
    let command = action.get("Command").unwrap_or("");
    let Some(model) = world.async_agi.get_mut(channel) else {
        return Reply::error(&format!("Channel {channel} does not exist."));
    };
    let lines = model.default_reply(command);
    let ends = command.trim().eq_ignore_ascii_case("ASYNCAGI BREAK") || model.dead;
    let Some(ch) = world.channels.iter().find(|c| c.name == channel) else {
        return Reply::error(&format!("Channel {channel} does not exist."));
    };
    let mut exec = ch.event("AsyncAGIExec");
    exec.set("Privilege", "agi,all");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    exec.push("Result", &uri_encode(&text));
    if let Some(id) = action.get("CommandID") {
        exec.push("CommandId", id);
    }
    let mut r = Reply::success_with("Added AGI command to queue").broadcast(exec);
    if ends {
        let mut end = ch.event("AsyncAGIEnd");
        end.set("Privilege", "agi,all");
        r = r.broadcast(end);
        // Later AGI actions are refused; the variables stay readable.
        if let Some(m) = world.async_agi.remove(channel) {
            world.async_done.insert(channel.to_owned(), m);
        }
        // An originated Local channel into 300: the dialplan goes on and
        // hangs up, both halves with 16, and the originate fails.
        if let Some(resp) = world.async_originates.remove(channel) {
            for half in [channel.to_owned(), local_twin(channel).unwrap_or_default()] {
                if let Some(i) = world.channels.iter().position(|c| c.name == half) {
                    let mut h = world.channels.remove(i).event("Hangup");
                    h.push("Cause", "16");
                    h.push("Cause-txt", "Normal Clearing");
                    r = r.broadcast(h);
                }
            }
            if let Some(resp) = resp {
                r = r.broadcast(resp);
            }
        }
    }
    r
}

fn hangup(channel: &str, world: &mut World) -> Reply {
    let events = hangup_events(channel, world);
    if events.is_empty() {
        return Reply::error("No such channel");
    }
    events
        .into_iter()
        .fold(Reply::success_with("Channel Hungup"), Reply::broadcast)
}

/// Removes the channel (with its Local twin, and the call it is bridged
/// with) and gives their events: bridge and queue exits, then the
/// `Hangup`s: 16 Normal Clearing for a channel of its own; a Local pair
/// ends as on Asterisk 22, both halves with cause 0 `Unknown`, `;1` first;
/// the channels of a bridge that ends (and their Local twins) with 16, but
/// the one hung up.
pub(crate) fn hangup_events(channel: &str, world: &mut World) -> Vec<Message> {
    end_call(channel, world, false)
}

/// The channel's dialplan hangs up (`Hangup()`): as [`hangup_events`], but
/// it and its Local twin end with cause 16, Normal Clearing.
pub(crate) fn hangup_cleared(channel: &str, world: &mut World) -> Vec<Message> {
    end_call(channel, world, true)
}

fn end_call(channel: &str, world: &mut World, cleared: bool) -> Vec<Message> {
    if !world.channels.iter().any(|c| c.name == channel) {
        return Vec::new();
    }
    let mut names = vec![channel.to_owned()];
    let mut events = Vec::new();
    // A transferer who hangs up while consulting completes the transfer.
    for n in std::iter::once(channel.to_owned()).chain(local_twin(channel)) {
        events.extend(super::transfer::transferer_gone(&n, world));
    }
    // The channels of the bridges that end: bridge_basic.c dissolves a
    // two-party bridge with cause 16, which their Local twins take too.
    let mut dissolved: Vec<String> = Vec::new();
    // Twins of the channels a bridge takes along are taken too.
    loop {
        let before = names.len();
        for n in names.clone() {
            if let Some(t) = local_twin(&n) {
                if !names.contains(&t) && world.channels.iter().any(|c| c.name == t) {
                    names.push(t);
                }
            }
        }
        for b in &world.pbx.bridges {
            if b.channels.iter().any(|c| names.contains(c)) {
                dissolved.extend(b.channels.iter().cloned());
            }
        }
        events.extend(super::pbx::tear_down(&mut names, world));
        if names.len() == before {
            break;
        }
    }
    let mut halves: Vec<Channel> = Vec::new();
    world.channels.retain(|c| {
        let ends = names.contains(&c.name);
        if ends {
            halves.push(c.clone());
        }
        !ends
    });
    halves.sort_by(|a, b| a.name.cmp(&b.name));
    // Channels whose cause a bridge that ended before set already.
    let set = std::mem::take(&mut world.pbx.cause_set);
    let (gone, kept): (Vec<String>, Vec<String>) = set.into_iter().partition(|c| names.contains(c));
    world.pbx.cause_set = kept;
    let after_bridge = |name: &str| {
        gone.iter().any(|g| g == name)
            || (name != channel
                && (dissolved.iter().any(|d| d == name)
                    || local_twin(name).is_some_and(|t| dissolved.contains(&t))))
    };
    events.extend(halves.iter().map(|c| {
        let local = local_twin(&c.name).is_some();
        let (cause, txt) = if local && !cleared && !after_bridge(&c.name) {
            ("0", "Unknown")
        } else {
            ("16", "Normal Clearing")
        };
        let mut h = c.event("Hangup");
        h.push("Cause", cause);
        h.push("Cause-txt", txt);
        h
    }));
    events
}

/// The other half's name of a Local channel (`…;1` ↔ `…;2`).
pub(crate) fn local_twin(name: &str) -> Option<String> {
    if !name.get(..6)?.eq_ignore_ascii_case("Local/") {
        return None;
    }
    let (base, half) = name.rsplit_once(';')?;
    match half {
        "1" => Some(format!("{base};2")),
        "2" => Some(format!("{base};1")),
        _ => None,
    }
}
