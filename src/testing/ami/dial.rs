//! The test dialplan's `600` as Asterisk 22 runs it:
//! `Set(CALLERID(all)="Dial Caller" <6000>)`, then
//! `Dial(Local/610@test&Local/101@test,20,g)`: both callees ring, `610`
//! answers, `101` is cancelled (cause 26, answered elsewhere) and the
//! caller (the `;2` half of the originated `Local/600@test`) is bridged
//! with the callee's `;1` half in a basic bridge.

use super::defaults::{Channel, World};
use super::pbx::Bridge;
use crate::ami::Message;

/// The caller id that 600 sets on its channel.
const CALLER: (&str, &str) = ("6000", "Dial Caller");

/// Whether `exten@context` is the dialplan's Dial of two Local channels.
pub(crate) fn is_dial(context: &str, exten: &str) -> bool {
    context == "test" && exten == "600"
}

/// Before the call is answered: the caller (`;2` half) sets its caller
/// id, and the originated `;1` half hears the callees ring (`Newstate`
/// Ringing, the event returned).
pub(crate) fn ringing(originated: &mut Channel, caller: &mut Channel) -> Message {
    caller.caller_num = CALLER.0.into();
    caller.caller_name = CALLER.1.into();
    originated.state = 5;
    originated.event("Newstate")
}

/// A Local channel that Dial or Queue calls.
pub(crate) struct Callee<'a> {
    pub(crate) exten: &'a str,
    pub(crate) context: &'a str,
}

impl Callee<'_> {
    /// Its Local pair, as Dial or Queue creates it (`;1` Down, `;2` Ring,
    /// no caller id yet).
    pub(crate) fn pair(&self, caller: &Channel, world: &mut World) -> [Channel; 2] {
        let Callee { exten, context } = *self;
        let n = world.next_id + 1;
        let half = |h: u8, uniqueid: String, state: u8| Channel {
            name: format!("Local/{exten}@{context}-{n:08x};{h}"),
            uniqueid,
            state,
            caller_num: "<unknown>".into(),
            caller_name: "<unknown>".into(),
            connected_num: "<unknown>".into(),
            connected_name: "<unknown>".into(),
            context: context.into(),
            exten: exten.into(),
            priority: 1,
            application: "AppDial2".into(),
            data: "(Outgoing Line)".into(),
            ..caller.clone()
        };
        let one = half(1, world.new_uniqueid(), 0);
        let two = half(2, world.new_uniqueid(), 4);
        [one, two]
    }
}

/// The dialled `;1` half rings: its `Newstate`, with
/// [`ring_attributes`].
fn ring(callee: &mut Channel, caller: &Channel) -> Message {
    ring_attributes(callee, caller);
    callee.state = 5;
    callee.event("Newstate")
}

/// A called `;1` half takes the caller's name as its connected line, the
/// caller's extension as its own and as its caller id (dial.c, app_queue.c).
pub(crate) fn ring_attributes(callee: &mut Channel, caller: &Channel) {
    callee.caller_num = caller.exten.clone();
    callee.caller_name = "<unknown>".into();
    callee.connected_num = caller.caller_num.clone();
    callee.connected_name = caller.caller_name.clone();
    callee.exten = caller.exten.clone();
}

/// The `;2` half of a callee sees the caller as its caller id, the
/// dialled number as its connected line.
pub(crate) fn far_end(callee: &mut Channel, caller: &Channel) {
    callee.caller_num = caller.caller_num.clone();
    callee.caller_name = caller.caller_name.clone();
    callee.connected_num = caller.exten.clone();
    callee.connected_name = "<unknown>".into();
}

/// Once the originate is answered: the callees' channels, ringing,
/// answer and cancel, and the bridge of `caller` with `610`'s `;1` half.
/// The events, in order; the world updated.
pub(crate) fn answered(caller: &Channel, world: &mut World) -> Vec<Message> {
    let test = |exten| Callee {
        exten,
        context: "test",
    };
    let [mut a1, mut a2] = test("610").pair(caller, world);
    let [mut c1, mut c2] = test("101").pair(caller, world);
    let mut out: Vec<Message> = [&a1, &a2, &c1, &c2]
        .iter()
        .map(|c| c.event("Newchannel"))
        .collect();
    out.push(ring(&mut a1, caller));
    out.push(ring(&mut c1, caller));
    far_end(&mut a2, caller);
    far_end(&mut c2, caller);
    // 610 answers; 101 is cancelled.
    a2.state = 6;
    out.push(a2.event("Newstate"));
    a1.state = 6;
    out.push(a1.event("Newstate"));
    for c in [&c1, &c2] {
        let mut h = c.event("Hangup");
        h.push("Cause", "26");
        h.push("Cause-txt", "Answered elsewhere");
        out.push(h);
    }
    // In the bridge the dialled half has no extension any more.
    a1.exten.clear();
    let mut bridge = world.pbx.new_bridge(world.started);
    out.push(bridge.event("BridgeCreate"));
    for c in [&a1, caller] {
        out.push(bridge.enter(c));
    }
    world.pbx.bridges.push(bridge);
    world.channels.push(a1);
    world.channels.push(a2);
    out
}

impl Bridge {
    /// `c` enters: its `BridgeEnter` event.
    pub(crate) fn enter(&mut self, c: &Channel) -> Message {
        self.channels.push(c.name.clone());
        let mut e = self.event("BridgeEnter");
        c.snapshot(&mut e);
        e
    }
}
