//! The emulator's bridges, queue, device and hint states, and their list
//! actions (`BridgeList`, `BridgeInfo`, `QueueStatus`, `DeviceStateList`,
//! `ExtensionStateList`, `PJSIPShowEndpoints`), consistent with the events
//! it sends: like the test dialplan, `Local/600@test` bridges its `;2`
//! half with a callee (`Local/610@test-…;1`), `Local/500@test` puts its
//! `;2` half in queue `support`.

use std::collections::BTreeMap;

use super::defaults::{Channel, World};
use super::reply::Reply;
use crate::ami::Message;

/// One emulated bridge.
#[derive(Clone, Debug)]
pub(crate) struct Bridge {
    pub(crate) id: String,
    /// Channel names, in order of entry.
    pub(crate) channels: Vec<String>,
}

/// One member of the emulated queue.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    interface: String,
    name: String,
    membership: &'static str,
    paused: bool,
    reason: String,
}

/// Bridges, the queue `support`, device and hint states.
#[derive(Debug)]
pub(crate) struct Pbx {
    pub(crate) bridges: Vec<Bridge>,
    members: Vec<Member>,
    /// Channel names of the callers waiting in `support`, in order.
    pub(crate) callers: Vec<String>,
    devices: BTreeMap<String, String>,
    next_bridge: u64,
    /// Callers whose members' channels ring.
    pub(crate) queue_calls: Vec<super::queue::QueueCall>,
    /// Callers bridged with an agent: (caller, agent's `;1` half,
    /// interface, member name).
    pub(crate) connected: Vec<(String, String, String, String)>,
    /// Attended transfers whose transferer consults the target.
    pub(crate) consults: Vec<super::transfer::Consult>,
    /// Channels whose hangup cause a bridge set to 16 when it ended.
    pub(crate) cause_set: Vec<String>,
}

impl Default for Pbx {
    fn default() -> Self {
        let member = |n: u8| Member {
            interface: format!("Local/agent{n}@agents/n"),
            name: format!("Agent {}", if n == 1 { "One" } else { "Two" }),
            membership: "static",
            paused: false,
            reason: String::new(),
        };
        Pbx {
            bridges: Vec::new(),
            members: vec![member(1), member(2)],
            callers: Vec::new(),
            devices: [("Custom:alice", "NOT_INUSE"), ("Custom:bob", "NOT_INUSE")]
                .into_iter()
                .map(|(d, s)| (d.to_owned(), s.to_owned()))
                .collect(),
            next_bridge: 0,
            queue_calls: Vec::new(),
            connected: Vec::new(),
            consults: Vec::new(),
            cause_set: Vec::new(),
        }
    }
}

impl Pbx {
    /// The members a call rings (not paused): (interface, name), in the
    /// order they were added.
    pub(crate) fn ring_members(&self) -> Vec<(String, String)> {
        self.members
            .iter()
            .filter(|m| !m.paused)
            .map(|m| (m.interface.clone(), m.name.clone()))
            .collect()
    }

    /// A new empty bridge, with an id like Asterisk's (a uuid).
    pub(crate) fn new_bridge(&mut self, started: u64) -> Bridge {
        self.next_bridge += 1;
        Bridge {
            id: format!("{started:08x}-0000-4000-8000-{:012x}", self.next_bridge),
            channels: Vec::new(),
        }
    }
}

/// The hints of the test dialplan: (extension, device).
const HINTS: [(&str, &str); 2] = [("1000", "Custom:alice"), ("1001", "Custom:bob")];

/// A device state's extension state code and text.
fn hint_status(device_state: &str) -> (&'static str, &'static str) {
    match device_state {
        "INUSE" => ("1", "InUse"),
        "BUSY" => ("2", "Busy"),
        "UNAVAILABLE" | "INVALID" => ("4", "Unavailable"),
        "RINGING" => ("8", "Ringing"),
        "ONHOLD" => ("16", "OnHold"),
        _ => ("0", "Idle"),
    }
}

fn list_start(what: &str) -> Reply {
    Reply::none().response(
        Message::new()
            .with("Response", "Success")
            .with("EventList", "start")
            .with("Message", &format!("{what} will follow")),
    )
}

fn list_end(r: Reply, name: &str, n: usize) -> Reply {
    r.list_event(
        Message::new()
            .with("Event", name)
            .with("EventList", "Complete")
            .with("ListItems", &n.to_string()),
    )
}

impl Bridge {
    pub(crate) fn snapshot(&self, m: &mut Message) {
        m.push("BridgeUniqueid", &self.id);
        m.push("BridgeType", "basic");
        m.push("BridgeTechnology", "simple_bridge");
        // A bridge made by Dial has neither (bridge_basic.c).
        m.push("BridgeCreator", "<unknown>");
        m.push("BridgeName", "<unknown>");
        m.push("BridgeNumChannels", &self.channels.len().to_string());
        m.push("BridgeVideoSourceMode", "none");
    }

    pub(crate) fn event(&self, name: &str) -> Message {
        let mut m = Message::new()
            .with("Event", name)
            .with("Privilege", "call,all");
        self.snapshot(&mut m);
        m
    }
}

impl Member {
    fn headers(&self, m: &mut Message, location: &str) {
        m.push("Queue", "support");
        m.push(
            if location == "Location" {
                "Name"
            } else {
                "MemberName"
            },
            &self.name,
        );
        m.push(location, &self.interface);
        m.push("StateInterface", &self.interface);
        m.push("Membership", self.membership);
        m.push("Penalty", "0");
        m.push("CallsTaken", "0");
        m.push("LastCall", "0");
        m.push("LastPause", "0");
        m.push("LoginTime", "0");
        m.push("InCall", "0");
        m.push("Status", "1");
        m.push("Paused", if self.paused { "1" } else { "0" });
        m.push("PausedReason", &self.reason);
        m.push("Wrapuptime", "0");
    }

    fn event(&self, name: &str) -> Message {
        let mut m = Message::new()
            .with("Event", name)
            .with("Privilege", "agent,all");
        self.headers(&mut m, "Interface");
        m.push("Ringinuse", "1");
        m
    }
}

/// The answers of this module; `None` for other actions.
pub(crate) fn answer(name: &str, action: &Message, world: &mut World) -> Option<Reply> {
    let get = |h: &str| action.get(h).unwrap_or("").to_owned();
    Some(match name {
        "bridgelist" => {
            let mut r = list_start("Bridge listing");
            for b in &world.pbx.bridges {
                r = r.list_event(b.event("BridgeListItem").without_privilege());
            }
            list_end(r, "BridgeListComplete", world.pbx.bridges.len())
        }
        "bridgeinfo" => {
            let id = get("BridgeUniqueid");
            let Some(b) = world.pbx.bridges.iter().find(|b| b.id == id) else {
                return Some(Reply::error(&format!("Bridge {id} not found")));
            };
            let mut r = list_start("Bridge Info");
            for name in &b.channels {
                if let Some(c) = world.channels.iter().find(|c| &c.name == name) {
                    r = r.list_event(c.event("BridgeInfoChannel").without_privilege());
                }
            }
            let mut end = b.event("BridgeInfoComplete").without_privilege();
            end.push("EventList", "Complete");
            end.push("ListItems", &b.channels.len().to_string());
            r.list_event(end)
        }
        "queuestatus" => queue_status(world),
        "queueadd" | "queueremove" | "queuepause" => queue_member_action(name, action, world),
        "devicestatelist" => {
            let mut r = list_start("Device State Changes");
            for (d, s) in &world.pbx.devices {
                r = r.list_event(
                    Message::new()
                        .with("Event", "DeviceStateChange")
                        .with("Device", d)
                        .with("State", s),
                );
            }
            list_end(r, "DeviceStateListComplete", world.pbx.devices.len())
        }
        "extensionstatelist" => {
            let mut r = list_start("Extension Statuses");
            for (exten, device) in HINTS {
                let state = world.pbx.devices.get(device).map(String::as_str);
                r = r.list_event(hint_event(exten, device, state.unwrap_or("")));
            }
            list_end(r, "ExtensionStateListComplete", HINTS.len())
        }
        // No PJSIP in the test Asterisk either: an empty list.
        "pjsipshowendpoints" => list_end(
            list_start("A listing of Endpoints"),
            "EndpointListComplete",
            0,
        ),
        _ => return None,
    })
}

trait WithoutPrivilege {
    fn without_privilege(self) -> Self;
}

impl WithoutPrivilege for Message {
    fn without_privilege(mut self) -> Self {
        self.remove("Privilege");
        self
    }
}

fn hint_event(exten: &str, device: &str, state: &str) -> Message {
    let (status, text) = hint_status(state);
    Message::new()
        .with("Event", "ExtensionStatus")
        .with("Exten", exten)
        .with("Context", "test")
        .with("Hint", device)
        .with("Status", status)
        .with("StatusText", text)
}

fn queue_status(world: &World) -> Reply {
    let pbx = &world.pbx;
    let mut r = list_start("Queue status");
    let mut n = 1;
    r = r.list_event(
        Message::new()
            .with("Event", "QueueParams")
            .with("Queue", "support")
            .with("Max", "0")
            .with("Strategy", "ringall")
            .with("Calls", &pbx.callers.len().to_string())
            .with("Holdtime", "0")
            .with("TalkTime", "0")
            .with("Completed", "0")
            .with("Abandoned", "0")
            .with("ServiceLevel", "0")
            .with("ServicelevelPerf", "0.0")
            .with("ServicelevelPerf2", "0.0")
            .with("Weight", "0"),
    );
    for m in &pbx.members {
        let mut e = Message::new().with("Event", "QueueMember");
        m.headers(&mut e, "Location");
        r = r.list_event(e);
        n += 1;
    }
    for (i, name) in pbx.callers.iter().enumerate() {
        let Some(c) = world.channels.iter().find(|c| &c.name == name) else {
            continue;
        };
        r = r.list_event(
            Message::new()
                .with("Event", "QueueEntry")
                .with("Queue", "support")
                .with("Position", &(i + 1).to_string())
                .with("Channel", &c.name)
                .with("Uniqueid", &c.uniqueid)
                .with("CallerIDNum", &c.caller_num)
                .with("CallerIDName", &c.caller_name)
                .with("ConnectedLineNum", "<unknown>")
                .with("ConnectedLineName", "<unknown>")
                .with("Wait", "0")
                .with("Priority", "0"),
        );
        n += 1;
    }
    list_end(r, "QueueStatusComplete", n)
}

fn queue_member_action(name: &str, action: &Message, world: &mut World) -> Reply {
    let interface = action.get("Interface").unwrap_or("");
    let members = &mut world.pbx.members;
    let pos = members.iter().position(|m| m.interface == interface);
    match (name, pos) {
        ("queueadd", None) if !interface.is_empty() => {
            let m = Member {
                interface: interface.to_owned(),
                name: action.get("MemberName").unwrap_or(interface).to_owned(),
                membership: "dynamic",
                paused: action
                    .get("Paused")
                    .is_some_and(|p| p == "true" || p == "1"),
                reason: String::new(),
            };
            let ev = m.event("QueueMemberAdded");
            members.push(m);
            Reply::success_with("Added interface to queue").broadcast(ev)
        }
        ("queueadd", _) => Reply::error("Unable to add interface: Already there"),
        ("queueremove", Some(i)) => {
            let ev = members.remove(i).event("QueueMemberRemoved");
            Reply::success_with("Removed interface from queue").broadcast(ev)
        }
        ("queuepause", Some(i)) => {
            let m = &mut members[i];
            m.paused = action
                .get("Paused")
                .is_some_and(|p| p.eq_ignore_ascii_case("true") || p == "1");
            m.reason = action.get("Reason").unwrap_or("").to_owned();
            let ev = m.event("QueueMemberPause");
            Reply::success_with("Interface paused successfully").broadcast(ev)
        }
        _ => Reply::error("Interface not found"),
    }
}

/// `Setvar DEVICE_STATE(dev)`: the device's new state and the events it
/// causes; `None` when the variable is not a device state.
pub(crate) fn set_device_state(var: &str, value: &str, world: &mut World) -> Option<Vec<Message>> {
    let device = var
        .strip_prefix("DEVICE_STATE(")
        .and_then(|v| v.strip_suffix(')'))?;
    let state = value.to_ascii_uppercase();
    world.pbx.devices.insert(device.to_owned(), state.clone());
    let mut events = vec![Message::new()
        .with("Event", "DeviceStateChange")
        .with("Privilege", "call,all")
        .with("Device", device)
        .with("State", &state)];
    for (exten, d) in HINTS {
        if d == device {
            let mut e = hint_event(exten, device, &state);
            e.set("Privilege", "call,all");
            events.push(e);
        }
    }
    Some(events)
}

/// What an answered Local call into `exten@test` does beyond answering:
/// 600 bridges the `;2` half with a new callee pair, 500 queues it.
/// Returns the events, in order; what the PBX does later by itself goes to
/// `later` (from now).
pub(crate) fn after_answer(
    exten: &str,
    twin: &mut Channel,
    world: &mut World,
    later: &mut Vec<(std::time::Duration, super::reply::Step)>,
) -> Vec<Message> {
    match exten {
        "600" => super::dial::answered(twin, world),
        "500" => super::queue::join(twin, world, later),
        _ => Vec::new(),
    }
}

/// Channels that end with `names` (a bridge ends with its last channel,
/// taking the others with it); the bridge and queue events that come
/// before their `Hangup`s, in order; the world updated.
pub(crate) fn tear_down(names: &mut Vec<String>, world: &mut World) -> Vec<Message> {
    let mut out = Vec::new();
    let bridged: Vec<usize> = world
        .pbx
        .bridges
        .iter()
        .enumerate()
        .filter(|(_, b)| b.channels.iter().any(|c| names.contains(c)))
        .map(|(i, _)| i)
        .collect();
    for i in bridged.into_iter().rev() {
        let mut b = world.pbx.bridges.remove(i);
        // The channel hung up leaves first, then the others, last in
        // first.
        b.channels.sort_by_key(|c| names.contains(c));
        while let Some(name) = b.channels.pop() {
            if let Some(c) = world.channels.iter().find(|c| c.name == name) {
                let mut e = b.event("BridgeLeave");
                c.snapshot(&mut e);
                out.push(e);
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        out.push(b.event("BridgeDestroy"));
    }
    let mut i = 0;
    while i < world.pbx.callers.len() {
        let name = &world.pbx.callers[i];
        if !names.contains(name) {
            i += 1;
            continue;
        }
        let name = world.pbx.callers.remove(i);
        for ended in super::queue::abandon(&name, world) {
            if !names.contains(&ended) {
                names.push(ended);
            }
        }
        if let Some(c) = world.channels.iter().find(|c| c.name == name) {
            let mut e = c.event("QueueCallerLeave");
            e.set("Privilege", "agent,all");
            e.push("Queue", "support");
            e.push("Position", &(i + 1).to_string());
            e.push("Count", &world.pbx.callers.len().to_string());
            out.push(e);
        }
    }
    out
}
