//! The initial sync and every resync: the list actions, read into a new
//! [`State`].

use std::time::{Duration, Instant};

use super::apply::{
    caller, extension_state, merge_bridge, merge_channel, merge_member, queue_entry, set_variable,
    Fields,
};
use super::model::{Bridge, Channel, Endpoint, Queue, QueueMember, State};
use crate::ami::actions::{
    BridgeInfo, BridgeList, CoreShowChannels, DeviceStateList, ExtensionStateList,
    PjsipShowEndpoints, QueueStatus, Status,
};
use crate::ami::events::{EndpointList, Event, QueueParams, Status as StatusItem, Text};
use crate::ami::{Action, AmiError, Manager, Message, RawAction, Response};

/// Sends a list action; a refusal (`Response: Error`: a module not loaded,
/// no such bridge any more) is an empty list, anything else an error.
fn list<A: Action<Output = Response>>(
    manager: &Manager,
    action: &A,
    timeout: Duration,
) -> Result<Vec<Message>, AmiError> {
    match manager.send_action_timeout(action, timeout) {
        Ok(r) => Ok(r.events),
        Err(AmiError::ActionFailed(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The items of a list called `name`.
fn raw_items<'a>(events: &'a [Message], name: &'a str) -> impl Iterator<Item = &'a Message> + 'a {
    events
        .iter()
        .filter(move |m| m.event_name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// Reads the items of a list called `E::NAME`, skipping those that do not
/// parse (logged).
fn items<E: Event>(events: &[Message]) -> impl Iterator<Item = E> + '_ {
    raw_items(events, E::NAME).filter_map(|m| match E::from_message(m) {
        Ok(e) => Some(e),
        Err(err) => {
            log::debug!("live: {} list item skipped: {err}", E::NAME);
            None
        }
    })
}

/// Asks Asterisk for everything the model holds and builds the state.
pub(crate) fn fetch(
    manager: &Manager,
    variables: &[String],
    timeout: Duration,
) -> Result<State, AmiError> {
    let mut st = State::default();
    // Channels are required: a refusal is an error here.
    let channels =
        manager.send_action_timeout(&RawAction::from_action(&CoreShowChannels), timeout)?;
    for m in raw_items(&channels.events, "CoreShowChannel") {
        let f = Fields::read(m);
        let Some(uid) = f.uniqueid else { continue };
        let mut ch = Channel::new(Text::from(uid));
        merge_channel(&mut ch, &f, m, variables);
        ch.bridge = f.bridge_id.filter(|b| !b.is_empty()).map(Text::from);
        st.channels.insert(ch.uniqueid.clone(), ch);
    }
    if !variables.is_empty() {
        let status = list(
            manager,
            &Status::all().variables(variables.join(",")),
            timeout,
        )?;
        for e in items::<StatusItem>(&status) {
            let Some(c) = &e.channel else { continue };
            if let Some(ch) = st.channels.get_mut(&c.uniqueid) {
                for (k, v) in &e.variables {
                    // manager.c prints an unset variable's NULL value
                    // with `%s`: glibc writes `(null)`.
                    let v = if v == "(null)" { "" } else { v.as_str() };
                    set_variable(ch, variables, k, v);
                }
            }
        }
    }
    for m in raw_items(
        &list(manager, &BridgeList::new(), timeout)?,
        "BridgeListItem",
    ) {
        let f = Fields::read(m);
        let Some(id) = f.bridge_uniqueid else {
            continue;
        };
        let mut b = Bridge::new(Text::from(id));
        merge_bridge(&mut b, &f);
        let info = list(manager, &BridgeInfo::new(id), timeout)?;
        for c in raw_items(&info, "BridgeInfoChannel") {
            if let Some(uid) = Fields::read(c).uniqueid {
                b.channels.insert(Text::from(uid));
            }
        }
        st.bridges.insert(b.id.clone(), b);
    }
    read_queues(&mut st, &list(manager, &QueueStatus::new(), timeout)?);
    let devices = list(manager, &DeviceStateList::new(), timeout)?;
    for m in raw_items(&devices, "DeviceStateChange") {
        let f = Fields::read(m);
        if let (Some(d), Some(s)) = (f.device, f.state) {
            st.device_states.insert(Text::from(d), Text::from(s));
        }
    }
    let hints = list(manager, &ExtensionStateList::new(), timeout)?;
    for m in raw_items(&hints, "ExtensionStatus") {
        if let Some((key, state)) = extension_state(&Fields::read(m)) {
            st.extension_states.insert(key, state);
        }
    }
    for e in items::<EndpointList>(&list(manager, &PjsipShowEndpoints::new(), timeout)?) {
        let Some(name) = e.object_name else { continue };
        let device_state = st
            .device_states
            .get(format!("PJSIP/{name}").as_str())
            .cloned()
            .or(e.device_state)
            .unwrap_or_default();
        let ep = Endpoint {
            name: name.clone(),
            transport: e.transport.unwrap_or_default(),
            aor: e.aor.unwrap_or_default(),
            contacts: e.contacts.unwrap_or_default(),
            device_state,
        };
        st.endpoints.insert(name, ep);
    }
    Ok(st)
}

/// Reads `QueueStatus`'s items: parameters, members, callers.
pub(crate) fn read_queues(st: &mut State, events: &[Message]) {
    let now = Instant::now();
    for p in items::<QueueParams>(events) {
        let Some(name) = p.queue else { continue };
        let q = st
            .queues
            .entry(name.clone())
            .or_insert_with(|| Queue::new(name));
        q.strategy = p.strategy.unwrap_or_default();
        q.max = p.max.unwrap_or(0);
        q.weight = p.weight.unwrap_or(0);
        q.service_level = p.service_level.unwrap_or(0);
    }
    for m in raw_items(events, "QueueMember") {
        let f = Fields::read(m);
        let (Some(name), Some(interface)) = (f.queue, f.interface) else {
            continue;
        };
        let mut member = QueueMember::default();
        merge_member(&mut member, &f);
        queue_entry(st, name)
            .0
            .members
            .insert(Text::from(interface), member);
    }
    for m in raw_items(events, "QueueEntry") {
        let f = Fields::read(m);
        let wait = f
            .wait
            .and_then(|w| w.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let joined = now.checked_sub(Duration::from_secs(wait)).unwrap_or(now);
        let position = f.position.and_then(|p| p.trim().parse().ok()).unwrap_or(0);
        let (Some(name), Some(mut c)) = (f.queue, caller(&f, position, joined)) else {
            continue;
        };
        // app_queue writes an empty caller ID as `unknown` here; the
        // channel snapshot of QueueCallerJoin as `<unknown>`.
        for v in [&mut c.caller_id_num, &mut c.caller_id_name] {
            if v.as_str() == "unknown" {
                *v = Text::from("<unknown>");
            }
        }
        queue_entry(st, name)
            .0
            .callers
            .insert(c.uniqueid.clone(), c);
    }
}

/// A marker token no other process or `Live` uses.
pub(crate) fn token(core: usize, n: u64) -> String {
    format!("{}-{core:x}-{n}", std::process::id())
}

/// The UserEvent that marks the end of a sync in the event stream.
pub(crate) const MARKER: &str = "AstrixLiveSync";

/// The marker's token, if `m` is a marker.
pub(crate) fn marker_token(m: &Message) -> Option<&str> {
    let name = m.event_name()?;
    if !name.eq_ignore_ascii_case("UserEvent") {
        return None;
    }
    if !m.get("UserEvent")?.eq_ignore_ascii_case(MARKER) {
        return None;
    }
    m.get("Token")
}
