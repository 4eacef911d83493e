//! Transfers of a channel in a two-party basic bridge, as bridge_basic.c
//! and manager.c do them: `BlindTransfer` sends the other party to an
//! extension (`BlindTransfer` event, the bridge ends, the transferer hangs
//! up); `Atxfer` has the transferer consult a Local channel into the
//! extension in a bridge of its own while the other party waits, and when
//! the transferer hangs up the target joins the other party
//! (`BridgeMerge`, `AttendedTransfer`).

use super::defaults::{hangup_cleared, local_twin, push_prefixed, Channel, World};
use super::dial::Callee;
use super::pbx::Bridge;
use super::reply::Reply;
use crate::ami::Message;

/// An attended transfer under way: the transferer consults the target.
#[derive(Clone, Debug)]
pub(crate) struct Consult {
    transferer: String,
    /// The bridge the transferee waits in.
    first: String,
    /// The bridge of the transferer and the target.
    second: String,
    /// The target's `;1` half.
    target: String,
}

fn channel<'a>(world: &'a World, name: &str) -> Option<&'a Channel> {
    world.channels.iter().find(|c| c.name == name)
}

fn channel_mut<'a>(world: &'a mut World, name: &str) -> Option<&'a mut Channel> {
    world.channels.iter_mut().find(|c| c.name == name)
}

fn bridge_index(world: &World, id: &str) -> Option<usize> {
    world.pbx.bridges.iter().position(|b| b.id == id)
}

/// The bridge's snapshot headers, each name after `prefix`.
fn push_bridge(prefix: &str, b: &Bridge, m: &mut Message) {
    let mut own = Message::new();
    b.snapshot(&mut own);
    push_prefixed(prefix, &own, m);
}

/// A transfer asked for.
struct Asked {
    transferer: Channel,
    /// The transferer's bridge, if any.
    bridge: Option<usize>,
    exten: String,
    /// `Context`, else the transferer's.
    context: String,
}

/// The checks manager.c makes for both actions: the transferer's name,
/// the extension and the channel.
fn asked(action: &Message, world: &World) -> Result<Asked, Reply> {
    let name = action.get("Channel").unwrap_or("");
    if name.is_empty() {
        return Err(Reply::error("No channel specified"));
    }
    let exten = action.get("Exten").unwrap_or("");
    if exten.is_empty() {
        return Err(Reply::error("No extension specified"));
    }
    let Some(c) = channel(world, name) else {
        return Err(Reply::error("Channel specified does not exist"));
    };
    let bridge = world
        .pbx
        .bridges
        .iter()
        .position(|b| b.channels.iter().any(|n| n == name));
    let context = action
        .get("Context")
        .filter(|c| !c.is_empty())
        .unwrap_or(&c.context)
        .to_owned();
    Ok(Asked {
        transferer: c.clone(),
        bridge,
        exten: exten.to_owned(),
        context,
    })
}

/// The other channel of a two-party bridge.
fn other_party(b: &Bridge, name: &str) -> Option<String> {
    match b.channels.as_slice() {
        [a, z] if a == name => Some(z.clone()),
        [a, z] if z == name => Some(a.clone()),
        _ => None,
    }
}

/// Leaves the bridge: its `BridgeLeave`.
fn leave(b: &mut Bridge, c: &Channel) -> Message {
    b.channels.retain(|n| *n != c.name);
    let mut e = b.event("BridgeLeave");
    c.snapshot(&mut e);
    e
}

/// The `BlindTransfer` action: the transferer's other party goes to
/// `Exten@Context` (the transferer's context by default), the bridge ends,
/// the transferer hangs up (cause 16). Only a two-party bridge is
/// modelled; a channel in no bridge gets `Transfer invalid`.
pub(crate) fn blind(action: &Message, world: &mut World) -> Reply {
    let (x, bridge, exten, context) = match asked(action, world) {
        Ok(a) => (a.transferer, a.bridge, a.exten, a.context),
        Err(r) => return r,
    };
    let Some(i) = bridge else {
        return Reply::error("Transfer invalid");
    };
    let Some(y) =
        other_party(&world.pbx.bridges[i], &x.name).and_then(|n| channel(world, &n).cloned())
    else {
        return Reply::error("Transfer failed");
    };
    let mut b = world.pbx.bridges.remove(i);
    let mut ev = Message::new()
        .with("Event", "BlindTransfer")
        .with("Privilege", "call,all")
        .with("Result", "Success");
    x.push_as("Transferer", &mut ev);
    y.push_as("Transferee", &mut ev);
    b.snapshot(&mut ev);
    ev.push("IsExternal", "Yes");
    ev.push("Context", &context);
    ev.push("Extension", &exten);
    let mut r = Reply::success_with("Transfer succeeded").broadcast(ev);
    // The transferee goes on at the extension.
    let y = match channel_mut(world, &y.name) {
        Some(c) => {
            c.exten = exten;
            c.context = context;
            c.clone()
        }
        None => y,
    };
    r = r.broadcast(leave(&mut b, &x)).broadcast(leave(&mut b, &y));
    r = r.broadcast(b.event("BridgeDestroy"));
    world.pbx.cause_set.push(y.name.clone());
    hangup_cleared(&x.name, world)
        .into_iter()
        .fold(r, Reply::broadcast)
}

/// The `Atxfer` action: the atxfer code and the extension reach the
/// transferer's bridge (the digits are not shown), which puts the
/// transferer in a new bridge with a Local channel into `Exten@Context`
/// (the transferer's context by default), answered at once. A channel in
/// no two-party bridge does nothing with the digits.
pub(crate) fn attended(action: &Message, world: &mut World) -> Reply {
    let (x, bridge, exten, context) = match asked(action, world) {
        Ok(a) => (a.transferer, a.bridge, a.exten, a.context),
        Err(r) => return r,
    };
    let ok = Reply::success_with("Atxfer successfully queued");
    let Some(i) = bridge.filter(|i| other_party(&world.pbx.bridges[*i], &x.name).is_some()) else {
        return ok;
    };
    let [mut t1, mut t2] = Callee {
        exten: &exten,
        context: &context,
    }
    .pair(&x, world);
    let mut out = vec![t1.event("Newchannel"), t2.event("Newchannel")];
    t1.connected_num = x.caller_num.clone();
    t1.connected_name = x.caller_name.clone();
    let mut second = world.pbx.new_bridge(world.started);
    out.push(second.event("BridgeCreate"));
    out.push(second.enter(&t1));
    let first = &mut world.pbx.bridges[i];
    out.push(leave(first, &x));
    let first = first.id.clone();
    out.push(second.enter(&x));
    t2.caller_num = x.caller_num.clone();
    t2.caller_name = x.caller_name.clone();
    t2.state = 6;
    out.push(t2.event("Newstate"));
    t1.state = 6;
    out.push(t1.event("Newstate"));
    world.pbx.consults.push(Consult {
        transferer: x.name.clone(),
        first,
        second: second.id.clone(),
        target: t1.name.clone(),
    });
    world.pbx.bridges.push(second);
    world.channels.push(t1);
    world.channels.push(t2);
    out.into_iter().fold(ok, Reply::broadcast)
}

/// The transferer `name` hangs up while consulting: the transfer
/// completes. It leaves the second bridge, which merges into the first
/// (the target joins the transferee), and `AttendedTransfer` is sent; the
/// transferer's hangup cause is set to 16. The events; none when `name`
/// consults nothing.
pub(crate) fn transferer_gone(name: &str, world: &mut World) -> Vec<Message> {
    let Some(k) = world.pbx.consults.iter().position(|c| c.transferer == name) else {
        return Vec::new();
    };
    let c = world.pbx.consults.remove(k);
    let (Some(fi), Some(si)) = (
        bridge_index(world, &c.first),
        bridge_index(world, &c.second),
    ) else {
        return Vec::new();
    };
    // The transferer's connected line is cleared, and with it its twin's
    // caller id.
    let Some(x) = channel_mut(world, name).map(|x| {
        x.connected_num = "<unknown>".into();
        x.connected_name = "<unknown>".into();
        x.clone()
    }) else {
        return Vec::new();
    };
    if let Some(t) = local_twin(name).and_then(|t| channel_mut(world, &t)) {
        t.caller_num = "<unknown>".into();
        t.caller_name = "<unknown>".into();
    }
    let Some(target) = channel(world, &c.target).cloned() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut second = world.pbx.bridges[si].clone();
    out.push(leave(&mut second, &x));
    let mut merge = Message::new()
        .with("Event", "BridgeMerge")
        .with("Privilege", "call,all");
    push_bridge("To", &world.pbx.bridges[fi], &mut merge);
    push_bridge("From", &second, &mut merge);
    out.push(merge);
    out.push(leave(&mut second, &target));
    out.push(world.pbx.bridges[fi].enter(&target));
    out.push(second.event("BridgeDestroy"));
    let first = world.pbx.bridges[fi].clone();
    let transferee = first
        .channels
        .iter()
        .find(|n| **n != c.target)
        .and_then(|n| channel(world, n))
        .cloned();
    let mut ev = Message::new()
        .with("Event", "AttendedTransfer")
        .with("Privilege", "call,all")
        .with("Result", "Success");
    x.push_as("OrigTransferer", &mut ev);
    push_bridge("Orig", &first, &mut ev);
    x.push_as("SecondTransferer", &mut ev);
    push_bridge("Second", &second, &mut ev);
    if let Some(y) = &transferee {
        y.push_as("Transferee", &mut ev);
    }
    target.push_as("TransferTarget", &mut ev);
    ev.push("IsExternal", "No");
    ev.push("DestType", "Bridge");
    ev.push("DestBridgeUniqueid", &first.id);
    out.push(ev);
    world.pbx.bridges.retain(|b| b.id != second.id);
    world.pbx.cause_set.push(name.to_owned());
    // The target and the transferee now see each other.
    if let Some(y) = transferee {
        if let Some(t) = channel_mut(world, &c.target) {
            t.connected_num = y.caller_num.clone();
            t.connected_name = y.caller_name.clone();
        }
        if let Some(t) = local_twin(&c.target).and_then(|t| channel_mut(world, &t)) {
            t.caller_num = y.caller_num.clone();
            t.caller_name = y.caller_name.clone();
        }
    }
    out
}
