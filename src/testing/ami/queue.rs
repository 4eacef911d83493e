//! A call in the test dialplan's queue `support` as app_queue.c runs it
//! (`ringall`): the caller joins, every member that is a Local channel
//! (`Local/agentN@agents/n`) is called, last added first; like the test
//! dialplan's `[agents]`, `agent1` answers after a second and hangs up 3 s
//! later (`AGENTSECS`), the others ring until then and are cancelled
//! (cause 26). The caller leaves the queue when the agent answers, is
//! bridged with it and goes on in the dialplan when the agent hangs up.

use std::time::Duration;

use super::defaults::{hangup_cleared, Channel, World};
use super::dial::{far_end, ring_attributes, Callee};
use super::reply::Step;
use crate::ami::Message;

/// How long `agent1` rings before it answers, and then talks.
const RING: Duration = Duration::from_secs(1);
const TALK: Duration = Duration::from_secs(3);

/// A caller waiting in the queue and the members' channels (`;1` halves)
/// that ring for it.
#[derive(Clone, Debug)]
pub(crate) struct QueueCall {
    caller: String,
    /// (interface, member name, the `;1` half ringing).
    ringing: Vec<(String, String, String)>,
}

/// A queue event about the caller and, when given, an agent's channel
/// (`Dest…` headers) and member.
fn event(name: &str, caller: &Channel, agent: Option<(&Channel, &str, &str)>) -> Message {
    let mut e = caller.event(name);
    e.set("Privilege", "agent,all");
    if let Some((c, interface, member)) = agent {
        c.push_dest(&mut e);
        e.push("Queue", "support");
        e.push("Interface", interface);
        e.push("MemberName", member);
    } else {
        e.push("Queue", "support");
    }
    e
}

/// The caller (the `;2` half of `Local/500@test`, answered, named
/// `Queue Caller`) joins: `QueueCallerJoin`, then each member's Local pair
/// is created and called (`AgentCalled`), its `;1` half rings. The events;
/// what happens later, in `later` (from now).
pub(crate) fn join(
    caller: &mut Channel,
    world: &mut World,
    later: &mut Vec<(Duration, Step)>,
) -> Vec<Message> {
    caller.caller_name = "Queue Caller".into();
    world.pbx.callers.push(caller.name.clone());
    let count = world.pbx.callers.len().to_string();
    let mut out = vec![event("QueueCallerJoin", caller, None)
        .with("Position", &count)
        .with("Count", &count)];
    let mut call = QueueCall {
        caller: caller.name.clone(),
        ringing: Vec::new(),
    };
    for (interface, member) in world.pbx.ring_members().into_iter().rev() {
        // Local/EXTEN@CONTEXT/n: a Local pair into EXTEN@CONTEXT.
        let Some(target) = interface
            .strip_prefix("Local/")
            .map(|t| t.trim_end_matches("/n"))
        else {
            continue;
        };
        let (exten, context) = target.split_once('@').unwrap_or((target, "default"));
        let [mut one, mut two] = Callee { exten, context }.pair(caller, world);
        out.push(one.event("Newchannel"));
        out.push(two.event("Newchannel"));
        ring_attributes(&mut one, caller);
        far_end(&mut two, caller);
        out.push(event(
            "AgentCalled",
            caller,
            Some((&one, &interface, &member)),
        ));
        one.state = 5;
        out.push(one.event("Newstate"));
        if exten == "agent1" {
            later.push((RING, Step::World(answer, two.name.clone())));
            later.push((RING + TALK, Step::World(agent_hangs_up, two.name.clone())));
        }
        call.ringing.push((interface, member, one.name.clone()));
        world.channels.push(one);
        world.channels.push(two);
    }
    world.pbx.queue_calls.push(call);
    out
}

/// The `;1` half of a Local channel's `;2` half `name`.
fn one_of(name: &str) -> String {
    format!("{};1", name.trim_end_matches(";2"))
}

/// The agent whose `;2` half is `agent` answers, if its caller still
/// waits: the other members' channels are cancelled, the caller leaves
/// the queue and is bridged with the agent (`AgentConnect`).
fn answer(agent: &str, world: &mut World) -> Vec<Message> {
    let one = one_of(agent);
    let Some(i) = world
        .pbx
        .queue_calls
        .iter()
        .position(|q| q.ringing.iter().any(|(_, _, c)| *c == one))
    else {
        return Vec::new();
    };
    let call = world.pbx.queue_calls.remove(i);
    let mut out = Vec::new();
    for c in world.channels.iter_mut() {
        if c.name == agent || c.name == one {
            c.state = 6;
            out.push(c.event("Newstate"));
        }
    }
    for (_, _, other) in call.ringing.iter().filter(|(_, _, c)| *c != one) {
        for half in [other.clone(), format!("{};2", other.trim_end_matches(";1"))] {
            if let Some(k) = world.channels.iter().position(|c| c.name == half) {
                let mut h = world.channels.remove(k).event("Hangup");
                h.push("Cause", "26");
                h.push("Cause-txt", "Answered elsewhere");
                out.push(h);
            }
        }
    }
    let Some(pos) = world.pbx.callers.iter().position(|c| *c == call.caller) else {
        return out;
    };
    world.pbx.callers.remove(pos);
    let find = |name: &str| world.channels.iter().find(|c| c.name == name).cloned();
    let (Some(caller), Some(agent_one)) = (find(&call.caller), find(&one)) else {
        return out;
    };
    out.push(
        event("QueueCallerLeave", &caller, None)
            .with("Position", &(pos + 1).to_string())
            .with("Count", &world.pbx.callers.len().to_string()),
    );
    let mut bridge = world.pbx.new_bridge(world.started);
    out.push(bridge.event("BridgeCreate"));
    out.push(bridge.enter(&agent_one));
    out.push(bridge.enter(&caller));
    world.pbx.bridges.push(bridge);
    if let Some((interface, member, _)) = call.ringing.iter().find(|(_, _, c)| *c == one) {
        let secs = RING.as_secs().to_string();
        out.push(
            event(
                "AgentConnect",
                &caller,
                Some((&agent_one, interface, member)),
            )
            .with("HoldTime", &secs)
            .with("RingTime", &secs),
        );
        world
            .pbx
            .connected
            .push((caller.name.clone(), one, interface.clone(), member.clone()));
    }
    out
}

/// The agent's dialplan hangs up (`Hangup()`, cause 16): `AgentComplete`
/// for its caller, then the bridge ends and every channel of the call
/// hangs up with 16 (the caller's dialplan goes on to its `Hangup()`).
fn agent_hangs_up(agent: &str, world: &mut World) -> Vec<Message> {
    let one = one_of(agent);
    let mut out = Vec::new();
    if let Some(i) = world.pbx.connected.iter().position(|c| c.1 == one) {
        let (caller, _, interface, member) = world.pbx.connected.remove(i);
        let find = |name: &str| world.channels.iter().find(|c| c.name == name);
        if let (Some(caller), Some(agent_one)) = (find(&caller), find(&one)) {
            out.push(
                event(
                    "AgentComplete",
                    caller,
                    Some((agent_one, &interface, &member)),
                )
                .with("HoldTime", &RING.as_secs().to_string())
                .with("TalkTime", &TALK.as_secs().to_string())
                .with("Reason", "agent"),
            );
        }
    }
    out.extend(hangup_cleared(agent, world));
    out
}

/// The caller `name` hung up while its members' channels rang: those
/// channels (`;1` halves) end too.
pub(crate) fn abandon(name: &str, world: &mut World) -> Vec<String> {
    let mut ended = Vec::new();
    world.pbx.queue_calls.retain(|q| {
        if q.caller == name {
            ended.extend(q.ringing.iter().map(|(_, _, c)| c.clone()));
            false
        } else {
            true
        }
    });
    world.pbx.connected.retain(|c| c.0 != name);
    ended
}
