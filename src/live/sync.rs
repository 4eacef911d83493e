//! The initial sync and every resync: the list actions, read into a new
//! [`State`].

use std::time::{Duration, Instant};

use super::apply::{merge_bridge, merge_channel, merge_member, set_variable, MemberFields};
use super::model::{
    Bridge, Channel, Endpoint, ExtensionState, Queue, QueueCaller, QueueMember, State,
};
use crate::ami::actions::{
    BridgeInfo, BridgeList, CoreShowChannels, DeviceStateList, ExtensionStateList,
    PjsipShowEndpoints, QueueStatus, Status,
};
use crate::ami::events::{
    BridgeInfoChannel, BridgeListItem, DeviceStateChange, EndpointList, Event, ExtensionStatus,
    QueueEntry, QueueMember as QueueMemberItem, QueueParams, Status as StatusItem,
};
use crate::ami::{Action, AmiError, Manager, Message, Response};

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

/// Reads the items of a list called `E::NAME`, skipping the others and
/// those that do not parse (logged).
fn items<E: Event>(events: &[Message]) -> impl Iterator<Item = E> + '_ {
    events
        .iter()
        .filter(|m| {
            m.event_name()
                .is_some_and(|n| n.eq_ignore_ascii_case(E::NAME))
        })
        .filter_map(|m| match E::from_message(m) {
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
    let channels = manager.send_action_timeout(&CoreShowChannels, timeout)?;
    for e in channels {
        let mut ch = Channel::new(e.channel.uniqueid.clone());
        merge_channel(&mut ch, &e.channel, variables);
        ch.bridge = e.bridge_id.filter(|b| !b.is_empty());
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
                    set_variable(ch, variables, k, v);
                }
            }
        }
    }
    for e in items::<BridgeListItem>(&list(manager, &BridgeList::new(), timeout)?) {
        let Some(s) = e.bridge else { continue };
        let mut b = Bridge::new(s.uniqueid.clone());
        merge_bridge(&mut b, &s);
        let info = list(manager, &BridgeInfo::new(s.uniqueid.as_str()), timeout)?;
        for c in items::<BridgeInfoChannel>(&info).filter_map(|c| c.channel) {
            b.channels.insert(c.uniqueid);
        }
        st.bridges.insert(b.id.clone(), b);
    }
    read_queues(&mut st, &list(manager, &QueueStatus::new(), timeout)?);
    for e in items::<DeviceStateChange>(&list(manager, &DeviceStateList::new(), timeout)?) {
        if let (Some(d), Some(s)) = (e.device, e.state) {
            st.device_states.insert(d, s);
        }
    }
    for e in items::<ExtensionStatus>(&list(manager, &ExtensionStateList::new(), timeout)?) {
        let (Some(context), Some(exten)) = (e.context.clone(), e.exten.clone()) else {
            continue;
        };
        let state = ExtensionState {
            hint: e.hint.clone().unwrap_or_default(),
            status: e.status().ok().flatten().unwrap_or(-1),
            status_text: e.status_text.clone().unwrap_or_default(),
        };
        st.extension_states.insert((context, exten), state);
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
    for m in items::<QueueMemberItem>(events) {
        let (Some(queue), Some(interface)) = (&m.queue, &m.location) else {
            continue;
        };
        let (penalty, status, paused, in_call) = (
            m.penalty.map(|v| v.to_string()),
            m.status().ok().flatten().map(|v| v.to_string()),
            m.paused().ok().flatten().map(|v| v.to_string()),
            m.in_call().ok().flatten().map(|v| v.to_string()),
        );
        let fields = MemberFields {
            queue: Some(queue),
            interface: Some(interface),
            name: m.name.as_ref(),
            state_interface: m.state_interface.as_ref(),
            membership: m.membership.as_ref(),
            penalty: penalty.as_deref(),
            status: status.as_deref(),
            paused: paused.as_deref(),
            paused_reason: m.paused_reason.as_ref(),
            in_call: in_call.as_deref(),
        };
        let mut member = QueueMember::default();
        merge_member(&mut member, &fields);
        st.queues
            .entry(queue.clone())
            .or_insert_with(|| Queue::new(queue.clone()))
            .members
            .insert(interface.clone(), member);
    }
    for e in items::<QueueEntry>(events) {
        let (Some(queue), Some(uniqueid)) = (e.queue, e.uniqueid) else {
            continue;
        };
        let wait = Duration::from_secs(e.wait.unwrap_or(0).max(0) as u64);
        let caller = QueueCaller {
            uniqueid: uniqueid.clone(),
            channel: e.channel.unwrap_or_default(),
            position: e.position.unwrap_or(0),
            caller_id_num: e.caller_id_num.unwrap_or_default(),
            caller_id_name: e.caller_id_name.unwrap_or_default(),
            joined: now.checked_sub(wait).unwrap_or(now),
        };
        st.queues
            .entry(queue.clone())
            .or_insert_with(|| Queue::new(queue))
            .callers
            .insert(uniqueid, caller);
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
