//! The typed catalogue against Asterisk 22: every documented name has a
//! type, and every event recorded from a real Asterisk 22.10.1 reads as its
//! typed form with nothing lost.

mod common;

use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::events::{
    self, parse_event, AnyEvent, AsyncAgiStart, BridgeSnapshot, ChannelSnapshot, CoreShowChannel,
    DialBegin, Event, EventError, ExtensionStatus, FullyBooted, Hangup, ListDialplan, Newchannel,
    OriginateResponse, ParkedCallsComplete, Parkinglot, QueueMember, Status, StatusComplete,
    VarSet, VoicemailUserDetail, VoicemailUserEntry,
};
use astrix::ami::{actions, Message};
use common::{fixture, AMI_RECORDINGS};

fn names(file: &str) -> Vec<String> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_documented_action_has_a_type() {
    let documented = names("asterisk22_ami_actions.txt");
    assert!(documented.len() > 150, "{}", documented.len());
    let missing: Vec<_> = documented
        .iter()
        .filter(|n| !actions::NAMES.contains(&n.as_str()))
        .collect();
    assert!(missing.is_empty(), "actions without a type: {missing:?}");
}

#[test]
fn every_documented_event_has_a_type() {
    let documented = names("asterisk22_ami_events.txt");
    assert!(documented.len() > 180, "{}", documented.len());
    let mut missing = Vec::new();
    for n in &documented {
        let listed = events::NAMES.iter().any(|t| t.eq_ignore_ascii_case(n))
            || (n == "NewExten" && events::NAMES.contains(&"Newexten"));
        // parse_event proves a type exists: an event with only its name
        // reads (every header optional) unless a snapshot is required.
        let m = Message::new().with("Event", n);
        let typed = match parse_event(&m) {
            Some(Ok(e)) => e.name().eq_ignore_ascii_case(n) || n == "NewExten",
            Some(Err(EventError::Missing { .. })) => true,
            _ => false,
        };
        if !listed || !typed {
            missing.push(n.clone());
        }
    }
    assert!(missing.is_empty(), "events without a type: {missing:?}");
    // Legacy and undocumented ones are typed too.
    for n in ["AsyncAGI", "QueueMember", "DBGetResponse", "ListDialplan"] {
        assert!(events::NAMES.contains(&n), "{n}");
    }
}

fn recorded_events() -> Vec<(String, Message)> {
    let mut out = Vec::new();
    for name in AMI_RECORDINGS {
        let mut d = Decoder::new();
        d.feed(&fixture(&format!("{name}.bin")));
        while let Ok(Some(f)) = d.decode() {
            if let Frame::Message(m) = f {
                if m.is_event() {
                    out.push((name.to_string(), m));
                }
            }
        }
    }
    out
}

#[test]
fn every_recorded_event_reads_as_its_type_with_nothing_lost() {
    let recorded = recorded_events();
    assert!(recorded.len() > 80, "{}", recorded.len());
    let mut unmapped = Vec::new();
    for (file, m) in &recorded {
        let name = m.event_name().unwrap();
        let e = match parse_event(m) {
            Some(Ok(e)) => e,
            Some(Err(err)) => panic!("{file}: {name}: {err}\n{m}"),
            None => panic!("{file}: {name} has no type\n{m}"),
        };
        assert!(e.name().eq_ignore_ascii_case(name), "{name}");
        assert_eq!(e.message(), m);
        let extra = e.extra();
        for (i, (h, v)) in m.iter().enumerate() {
            let known = e.is_known_header(h);
            let in_extra = extra.contains(&(h, v));
            assert!(
                known != in_extra || (!known && in_extra),
                "{file}: {name}: header #{i} {h}: known {known}, in extra {in_extra}"
            );
            assert!(known || in_extra, "{file}: {name}: {h} lost");
        }
        // ActionID is a known header of every event.
        assert_eq!(e.action_id(), m.get("ActionID"), "{file}: {name}");
        // Only the list headers are extra: every other recorded header has
        // a field.
        for (h, _) in &extra {
            let list_header = ["EventList", "ListItems"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(h));
            if !list_header {
                unmapped.push(format!("{file}: {name}: {h}"));
            }
        }
    }
    unmapped.sort();
    unmapped.dedup();
    assert!(
        unmapped.is_empty(),
        "headers without a field: {unmapped:#?}"
    );
}

fn first<E: Event>() -> E {
    let m = recorded_events()
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| {
            m.event_name()
                .is_some_and(|n| n.eq_ignore_ascii_case(E::NAME))
        })
        .unwrap_or_else(|| panic!("no {} recorded", E::NAME));
    E::from_message(&m).unwrap()
}

fn same_snapshot(s: &ChannelSnapshot, m: &Message, prefix: &str) {
    let h = |f: &str| m.get(&format!("{prefix}{f}"));
    assert_eq!(Some(s.channel.as_str()), h("Channel"));
    assert_eq!(Some(s.uniqueid.as_str()), h("Uniqueid"));
    assert_eq!(s.state_desc.as_deref(), h("ChannelStateDesc"));
    assert_eq!(s.caller_id_num.as_deref(), h("CallerIDNum"));
    assert_eq!(s.caller_id_name.as_deref(), h("CallerIDName"));
    assert_eq!(s.connected_line_num.as_deref(), h("ConnectedLineNum"));
    assert_eq!(s.connected_line_name.as_deref(), h("ConnectedLineName"));
    assert_eq!(s.language.as_deref(), h("Language"));
    assert_eq!(s.account_code.as_deref(), h("AccountCode"));
    assert_eq!(s.context.as_deref(), h("Context"));
    assert_eq!(s.exten.as_deref(), h("Exten"));
    assert_eq!(s.priority.map(|p| p.to_string()).as_deref(), h("Priority"));
    assert_eq!(s.linkedid.as_deref(), h("Linkedid"));
    let vars: Vec<String> = m
        .get_all(&format!("{prefix}ChanVariable"))
        .map(str::to_owned)
        .collect();
    let got: Vec<String> = s
        .variables
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    assert_eq!(got, vars);
}

#[test]
fn field_values_equal_the_recorded_headers() {
    let e: Newchannel = first();
    same_snapshot(&e.channel, e.message(), "");
    assert!(!e.channel.variables.is_empty(), "channelvars are set");

    let e: Hangup = first();
    same_snapshot(&e.channel, e.message(), "");
    assert_eq!(
        e.cause.map(|c| c.to_string()).as_deref(),
        e.message().get("Cause")
    );
    assert_eq!(e.cause_txt.as_deref(), e.message().get("Cause-txt"));

    let e: DialBegin = first();
    let dest = e.dest.as_ref().expect("DialBegin has a Dest snapshot");
    same_snapshot(dest, e.message(), "Dest");
    if let Some(c) = &e.channel {
        same_snapshot(c, e.message(), "");
    }
    assert_eq!(e.dial_string.as_deref(), e.message().get("DialString"));

    let e: VarSet = first();
    assert_eq!(Some(e.variable.as_str()), e.message().get("Variable"));
    assert_eq!(Some(e.value.as_str()), e.message().get("Value"));

    let e: FullyBooted = first();
    assert_eq!(
        e.uptime.map(|u| u.to_string()).as_deref(),
        e.message().get("Uptime")
    );
    assert_eq!(e.status.as_deref(), Some("Fully Booted"));

    let e: QueueMember = first();
    assert_eq!(e.queue.as_deref(), e.message().get("Queue"));
    assert_eq!(e.location.as_deref(), e.message().get("Location"));
    assert_eq!(
        e.login_time.map(|t| t.to_string()).as_deref(),
        e.message().get("LoginTime")
    );

    let e: OriginateResponse = first();
    assert_eq!(Some(e.response.as_str()), e.message().get("Response"));
    assert_eq!(e.action_id.as_deref(), e.message().get("ActionID"));

    let e: AsyncAgiStart = first();
    same_snapshot(e.channel.as_ref().unwrap(), e.message(), "");
    assert_eq!(e.env.as_deref(), e.message().get("Env"));
}

#[test]
fn headers_match_without_regard_to_case_and_first_wins() {
    let m = Message::new()
        .with("Event", "hangup")
        .with("CHANNEL", "PJSIP/a-1")
        .with("uniqueid", "1.1")
        .with("cause", "16")
        .with("Cause", "17")
        .with("X-New-Header", "kept");
    let e = Hangup::from_message(&m).unwrap();
    assert_eq!(e.channel.channel, "PJSIP/a-1");
    assert_eq!(e.cause, Some(16));
    assert_eq!(e.extra(), vec![("X-New-Header", "kept")]);
}

#[test]
fn missing_optional_headers_are_none_and_bad_numbers_are_errors() {
    let m = Message::new().with("Event", "DialBegin");
    let e = DialBegin::from_message(&m).unwrap();
    assert!(e.channel.is_none() && e.dest.is_none() && e.dial_string.is_none());

    // A required snapshot without its Channel is an error.
    let m = Message::new().with("Event", "Newchannel");
    assert!(matches!(
        Newchannel::from_message(&m),
        Err(EventError::Missing {
            header: "Channel",
            ..
        })
    ));

    // A malformed number is reported, in the event's own headers and in a
    // snapshot's.
    let m = Message::new()
        .with("Event", "Hangup")
        .with("Channel", "PJSIP/a-1")
        .with("Uniqueid", "1.1")
        .with("Cause", "sixteen");
    let err = Hangup::from_message(&m).unwrap_err();
    assert!(
        matches!(&err, EventError::Invalid { event: "Hangup", header: "Cause", value } if value == "sixteen"),
        "{err:?}"
    );
    assert!(matches!(
        parse_event(&m),
        Some(Err(EventError::Invalid { .. }))
    ));
    let m = Message::new()
        .with("Event", "DialBegin")
        .with("DestChannel", "PJSIP/b-1")
        .with("DestPriority", "x");
    assert!(matches!(
        DialBegin::from_message(&m),
        Err(EventError::Invalid {
            header: "Priority",
            ..
        })
    ));
    // Not an event, or an unknown one: no typed form.
    assert!(parse_event(&Message::new().with("Response", "Success")).is_none());
    assert!(parse_event(&Message::new().with("Event", "NoSuchEvent")).is_none());
}

#[test]
fn prefixed_snapshots_are_read_apart() {
    let m = Message::new()
        .with("Event", "BridgeMerge")
        .with("ToBridgeUniqueid", "to-1")
        .with("ToBridgeNumChannels", "2")
        .with("FromBridgeUniqueid", "from-1")
        .with("FromBridgeType", "basic");
    let Some(Ok(AnyEvent::BridgeMerge(e))) = parse_event(&m) else {
        panic!("not a BridgeMerge");
    };
    let to: &BridgeSnapshot = e.to_bridge.as_ref().unwrap();
    assert_eq!(to.uniqueid, "to-1");
    assert_eq!(to.num_channels, Some(2));
    let from = e.from_bridge.as_ref().unwrap();
    assert_eq!(from.uniqueid, "from-1");
    assert_eq!(from.bridge_type.as_deref(), Some("basic"));
    assert!(e.extra().is_empty());

    let m = Message::new()
        .with("Event", "AttendedTransfer")
        .with("OrigTransfererChannel", "PJSIP/a-1")
        .with("OrigTransfererUniqueid", "1.1")
        .with("OrigBridgeUniqueid", "b-1")
        .with("SecondTransfererChannel", "PJSIP/c-1")
        .with("TransfereeChannel", "PJSIP/b-1")
        .with("Result", "Success");
    let e = events::AttendedTransfer::from_message(&m).unwrap();
    assert_eq!(e.orig_transferer.as_ref().unwrap().channel, "PJSIP/a-1");
    assert_eq!(e.orig_bridge.as_ref().unwrap().uniqueid, "b-1");
    assert_eq!(e.second_transferer.as_ref().unwrap().channel, "PJSIP/c-1");
    assert_eq!(e.transferee.as_ref().unwrap().channel, "PJSIP/b-1");
    assert_eq!(e.result.as_deref(), Some("Success"));
    assert!(e.extra().is_empty());
}

#[test]
fn legacy_async_agi_and_global_varset() {
    let m = Message::new()
        .with("Event", "AsyncAGI")
        .with("SubEvent", "Exec")
        .with("Channel", "SIP/1-1")
        .with("CommandID", "c1")
        .with("Result", "200%20result%3D0%0A");
    let Some(Ok(AnyEvent::AsyncAgi(e))) = parse_event(&m) else {
        panic!("not AsyncAGI");
    };
    assert_eq!(e.sub_event.as_deref(), Some("Exec"));
    assert_eq!(e.command_id.as_deref(), Some("c1"));

    let m = Message::new()
        .with("Event", "VarSet")
        .with("Channel", "none")
        .with("Variable", "G")
        .with("Value", "1");
    let e = VarSet::from_message(&m).unwrap();
    assert!(e.channel.is_none());
    assert_eq!((e.variable.as_str(), e.value.as_str()), ("G", "1"));
}

/// The events named `name` in recording `file`, in order.
fn recorded_in(file: &str, name: &str) -> Vec<Message> {
    let v: Vec<Message> = recorded_events()
        .into_iter()
        .filter(|(f, m)| f == file && m.event_name() == Some(name))
        .map(|(_, m)| m)
        .collect();
    assert!(!v.is_empty(), "no {name} in {file}");
    v
}

/// Reads `m` as `E` through `parse_event` too, and checks that no header is
/// left over.
fn typed<E: Event>(m: &Message) -> E {
    let any = parse_event(m).expect("typed").expect("reads");
    assert_eq!(any.name(), E::NAME);
    assert!(
        any.extra().is_empty(),
        "{}: extra {:?}",
        E::NAME,
        any.extra()
    );
    let e = E::from_message(m).unwrap();
    assert!(e.extra().is_empty());
    e
}

/// The headers of `VoicemailUserEntry` as issue #19 quotes them from a real
/// Asterisk 22.
const VOICEMAIL_USER_HEADERS: [&str; 28] = [
    "VMContext",
    "VoiceMailbox",
    "Fullname",
    "Email",
    "Pager",
    "ServerEmail",
    "FromString",
    "MailCommand",
    "Language",
    "TimeZone",
    "Callback",
    "Dialout",
    "UniqueID",
    "ExitContext",
    "SayDurationMinimum",
    "SayEnvelope",
    "SayCID",
    "AttachMessage",
    "AttachmentFormat",
    "DeleteMessage",
    "VolumeGain",
    "CanReview",
    "CanMarkUrgent",
    "CallOperator",
    "MaxMessageCount",
    "MaxMessageLength",
    "NewMessageCount",
    "OldMessageCount",
];

#[test]
fn voicemail_user_entries_are_typed() {
    for h in VOICEMAIL_USER_HEADERS {
        assert!(VoicemailUserEntry::is_known_header(h), "{h}");
        assert!(VoicemailUserDetail::is_known_header(h), "{h}");
    }
    let items = recorded_in("ami_catalogue", "VoicemailUserEntry");
    assert_eq!(items.len(), 2);
    for m in &items {
        let names: Vec<&str> = m.iter().map(|(n, _)| n).collect();
        assert_eq!(names[2..], VOICEMAIL_USER_HEADERS, "the issue's list");
        let e: VoicemailUserEntry = typed(m);
        assert_eq!(e.action_id(), Some("astrix-002"));
        assert_eq!(e.vm_context.as_deref(), Some("default"));
        assert_eq!(e.voice_mailbox.as_deref(), m.get("VoiceMailbox"));
        assert_eq!(e.fullname.as_deref(), m.get("Fullname"));
        assert_eq!(e.mail_command.as_deref(), m.get("MailCommand"));
        assert_eq!(e.say_cid.as_deref(), m.get("SayCID"));
        assert_eq!(e.old_message_count.as_deref(), Some("0"));
    }
    let e: VoicemailUserEntry = typed(&items[1]);
    assert_eq!(e.voice_mailbox.as_deref(), Some("5678"));
    assert_eq!(e.fullname.as_deref(), Some("Other User"));

    let m = &recorded_in("ami_catalogue", "VoicemailUserDetail")[0];
    let e: VoicemailUserDetail = typed(m);
    assert_eq!(e.voice_mailbox.as_deref(), Some("1234"));
    assert_eq!(e.max_message_count.as_deref(), Some("10"));
}

#[test]
fn parked_calls_complete_carries_total() {
    let m = &recorded_in("ami_catalogue", "ParkedCallsComplete")[0];
    let e: ParkedCallsComplete = typed(m);
    assert_eq!(e.total(), Ok(Some(0)));
    assert_eq!(e.list_items, Some(0));
    assert_eq!(e.action_id(), Some("astrix-005"));
}

#[test]
fn status_collects_its_variable_lines() {
    let st = recorded_in("ami_catalogue", "Status");
    // AllVariables: true on the ;1 channel.
    let e: Status = typed(&st[0]);
    assert_eq!(e.variables, [("ASTRIX_TAG".into(), "catalogue".into())]);
    let c = e.channel.as_ref().unwrap();
    assert_eq!(c.uniqueid, "astrix-cat-1");
    assert_eq!(
        c.variables,
        [
            ("ASTRIX_TAG".into(), "catalogue".into()),
            ("ASTRIX_LONG".into(), String::new())
        ],
        "ChanVariable stays on the snapshot"
    );
    // Variables: ASTRIX_TAG,CHANNEL(state) on the ;2 channel: a function's
    // name keeps its parentheses.
    let e: Status = typed(&st[1]);
    let vars: Vec<(&str, &str)> = e
        .variables
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        vars,
        [("ASTRIX_TAG", "catalogue"), ("CHANNEL(state)", "Up")]
    );
    // Without them (the ami_actions recording) the list is empty.
    let e: Status = typed(&recorded_in("ami_actions", "Status")[0]);
    assert!(e.variables.is_empty());
    // Built from the exact lines Asterisk writes: an empty value and a value
    // with `=` in it.
    let m = Message::new()
        .with("Event", "Status")
        .with("Channel", "Local/1@t-1;1")
        .with("Uniqueid", "1.1")
        .with("Variable", "EMPTY=")
        .with("Variable", "EQ=a=b")
        .with("ActionID", "x");
    let e: Status = typed(&m);
    assert_eq!(
        e.variables,
        [("EMPTY".into(), String::new()), ("EQ".into(), "a=b".into())]
    );
}

#[test]
fn action_id_is_known_on_every_event() {
    let mut seen = 0;
    for (file, m) in recorded_events() {
        let Some(id) = m.get("ActionID") else {
            continue;
        };
        let e = parse_event(&m).unwrap().unwrap();
        assert_eq!(e.action_id(), Some(id), "{file}: {}", e.name());
        assert!(e.is_known_header("ActionID"));
        assert!(!e.extra().iter().any(|(h, _)| *h == "ActionID"));
        seen += 1;
    }
    assert!(seen > 30, "{seen}");
    // The list items and ends the issue names, each from its recording.
    let e: CoreShowChannel = typed(&recorded_in("ami_catalogue", "CoreShowChannel")[0]);
    assert_eq!(e.action_id(), Some("astrix-011"));
    let e: StatusComplete = typed(&recorded_in("ami_catalogue", "StatusComplete")[0]);
    assert_eq!(e.action_id(), Some("astrix-009"));
    let e: QueueMember = first();
    assert_eq!(e.action_id(), Some("astrix-028"));
    // The fields that held it before still do.
    let e: Status = typed(&recorded_in("ami_catalogue", "Status")[0]);
    assert_eq!(e.action_id.as_deref(), Some("astrix-009"));
    assert_eq!(Event::action_id(&e), Some("astrix-009"));
    let e: OriginateResponse = first();
    assert_eq!(Event::action_id(&e), e.action_id.as_deref());
    // An unsolicited event has none.
    let e: FullyBooted = first();
    assert_eq!(e.action_id(), None);
    // Every typed event knows it, documented or not.
    for n in events::NAMES {
        let m = Message::new().with("Event", n).with("ActionID", "a-1");
        if let Some(Ok(e)) = parse_event(&m) {
            assert!(e.is_known_header("actionid"), "{n}");
            assert_eq!(e.action_id(), Some("a-1"), "{n}");
        }
    }
}

#[test]
fn numbers_are_typed_and_a_word_fails_only_its_accessor() {
    let e: Status = typed(&recorded_in("ami_actions", "Status")[0]);
    assert_eq!(e.seconds(), Ok(Some(1)));
    assert_eq!(e.time_to_hangup(), Ok(Some(0)));

    let e: QueueMember = first();
    assert_eq!(e.status(), Ok(Some(1)));
    assert_eq!(e.paused(), Ok(Some(0)));
    assert_eq!(e.in_call(), Ok(Some(0)));

    let es = recorded_in("ami_actions", "ExtensionStatus");
    let e: ExtensionStatus = typed(&es[1]);
    assert_eq!(e.status(), Ok(Some(8)));
    assert_eq!(e.status_text.as_deref(), Some("Ringing"));

    let e: Parkinglot = typed(&recorded_in("ami_catalogue", "Parkinglot")[0]);
    assert_eq!(e.name.as_deref(), Some("default"));
    assert_eq!(e.start_space(), Ok(Some(701)));
    assert_eq!(e.stop_space(), Ok(Some(720)));
    assert_eq!(e.timeout(), Ok(Some(45)));

    // ListDialplan: a hint's row says `Priority: hint`. The event still
    // reads; only its priority() says the value is not a number.
    let rows = recorded_in("ami_catalogue", "ListDialplan");
    let hint: ListDialplan = typed(&rows[0]);
    assert_eq!(hint.message().get("Priority"), Some("hint"));
    assert_eq!(
        hint.priority(),
        Err(EventError::Invalid {
            event: "ListDialplan",
            header: "Priority",
            value: "hint".into()
        })
    );
    assert_eq!(
        hint.application.as_deref(),
        Some("Custom:alice,CustomPresence:alice")
    );
    let e: ListDialplan = typed(&rows[1]);
    assert_eq!(e.priority(), Ok(Some(1)));
    assert!(matches!(
        parse_event(&rows[0]),
        Some(Ok(AnyEvent::ListDialplan(_)))
    ));

    // The same for every lenient number: a word, and an absent header.
    let m = Message::new()
        .with("Event", "QueueMember")
        .with("Status", "busy")
        .with("Paused", " 1 ");
    let e = QueueMember::from_message(&m).unwrap();
    assert!(matches!(
        e.status(),
        Err(EventError::Invalid {
            header: "Status",
            ..
        })
    ));
    assert_eq!(e.paused(), Ok(Some(1)));
    assert_eq!(e.in_call(), Ok(None));
    let m = Message::new()
        .with("Event", "Status")
        .with("Seconds", "soon")
        .with("TimeToHangup", "");
    let e = Status::from_message(&m).unwrap();
    assert!(e.seconds().is_err());
    assert_eq!(e.time_to_hangup(), Ok(None));
}
