//! Originate and call tracking against the emulator.

use std::time::{Duration, Instant};

use astrix::ami::actions::{Hangup, Originate};
use astrix::ami::{CallError, CallEvent, CallManager, CallState, Manager};
use astrix::testing::{AmiServer, Reply};

const T: Duration = Duration::from_secs(10);

fn setup() -> (AmiServer, Manager) {
    let server = AmiServer::start().unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    m.login("admin", "wordpass").unwrap();
    (server, m)
}

#[test]
fn answered_call_then_hangup_with_cause() {
    let (_server, m) = setup();
    let calls = CallManager::new(&m);
    let call = calls
        .originate(Originate::to_extension("Local/100@test", "test", "100", 1))
        .unwrap();
    assert_eq!(
        call.wait_for(CallState::Answered, T).unwrap(),
        CallState::Answered
    );
    // Both halves of the Local channel, as on Asterisk.
    assert_eq!(call.channels().len(), 2);
    let end = call.wait_end(T).unwrap();
    assert_eq!(call.reason(), Some(4));
    assert_eq!(end.state, CallState::Ended);
    assert!(end.answered);
    // A Local channel's ;1 half ends with cause 0 on Asterisk 22.
    assert_eq!(end.cause, Some(0));
    assert_eq!(end.cause_txt.as_deref(), Some("Unknown"));
    // The Originate went out Async with our ChannelId.
    assert!(call
        .events()
        .iter()
        .any(|e| e.get("Uniqueid") == Some(call.uniqueid())));
}

#[test]
fn hung_up_by_us() {
    let (server, m) = setup();
    let calls = CallManager::new(&m);
    let call = calls
        .originate(Originate::to_application("Local/200@test", "Wait").data("60"))
        .unwrap();
    call.wait_for(CallState::Answered, T).unwrap();
    let ch = server.channels().remove(0);
    m.send_action(&Hangup::new(ch)).unwrap();
    let end = call.wait_end(T).unwrap();
    assert_eq!((end.state, end.cause), (CallState::Ended, Some(0)));
}

#[test]
fn busy_and_no_answer_fail_with_their_reason() {
    let (_server, m) = setup();
    let calls = CallManager::new(&m);
    // Local channels, as Asterisk 22 (tests/data/differential): busy, the
    // ;1 half ends with cause 0 (the ;2 half has 17); not answered, both
    // halves end with 19. A channel of its own ends with the cause.
    for (chan, reason, cause) in [
        ("Local/busy@test", 5, 0),
        ("Local/noanswer@test", 3, 19),
        ("PJSIP/busy", 5, 17),
        ("PJSIP/noanswer", 3, 19),
    ] {
        let call = calls
            .originate(Originate::to_extension(chan, "test", "100", 1))
            .unwrap();
        let err = call.wait_for(CallState::Answered, T).unwrap_err();
        let CallError::Ended { end, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(end.state, CallState::Failed);
        assert!(!end.answered);
        assert_eq!(end.cause, Some(cause));
        // The reason arrives with the OriginateResponse, after the Hangup.
        let t0 = Instant::now();
        while call.reason().is_none() && t0.elapsed() < T {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(call.reason(), Some(reason));
    }
}

#[test]
fn an_originate_refused_by_asterisk_is_an_error() {
    let (server, m) = setup();
    server.on_action("Originate", |_| Reply::error("Originate failed"));
    let calls = CallManager::new(&m);
    let err = calls
        .originate(Originate::to_extension("Local/1@test", "test", "1", 1))
        .unwrap_err();
    assert_eq!(
        err.response().and_then(|r| r.message_text()),
        Some("Originate failed")
    );
}

#[test]
fn no_originate_response_fails_cleanly() {
    let (server, m) = setup();
    server.on_action("Originate", |_| {
        Reply::success_with("Originate successfully queued")
    });
    let calls = CallManager::new(&m).response_timeout(Duration::from_millis(100));
    let call = calls
        .originate(
            Originate::to_extension("Local/1@test", "test", "1", 1)
                .timeout(Duration::from_millis(100)),
        )
        .unwrap();
    let end = call.wait_end(T).unwrap();
    assert_eq!(end.state, CallState::Failed);
    assert!(end.note.unwrap().contains("OriginateResponse"));
    assert_eq!(call.state(), CallState::Failed);
}

#[test]
fn wait_for_times_out_while_the_call_goes_on() {
    let (_server, m) = setup();
    let calls = CallManager::new(&m);
    let call = calls
        .originate(Originate::to_application("Local/104@test", "Wait").data("30"))
        .unwrap();
    let err = call
        .wait_for(CallState::Ended, Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    assert_eq!(call.state(), CallState::Answered);
}

#[test]
fn many_concurrent_calls_are_tracked_apart() {
    let (server, m) = setup();
    let calls = CallManager::new(&m);
    let placed: Vec<_> = (0..20)
        .map(|i| {
            let chan = if i % 4 == 0 {
                format!("Local/busy{i}@test")
            } else {
                format!("Local/{i}@test")
            };
            calls
                .originate(Originate::to_application(chan, "Wait").data("0.3"))
                .unwrap()
        })
        .collect();
    for (i, call) in placed.iter().enumerate() {
        let end = call.wait_end(T).unwrap();
        if i % 4 == 0 {
            assert_eq!(end.state, CallState::Failed, "call {i}");
        } else {
            assert_eq!(
                (end.state, end.cause),
                (CallState::Ended, Some(0)),
                "call {i}"
            );
        }
        // At most the two halves of its own Local channel.
        assert!(
            call.channels().len() <= 2,
            "call {i}: {:?}",
            call.channels()
        );
    }
    assert!(server.channels().is_empty());
}

/// Collects every call event a callback sees, with the call's Uniqueid.
fn recorder(calls: &CallManager) -> std::sync::Arc<std::sync::Mutex<Vec<(String, CallEvent)>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    calls.on_call_event(move |call, event| {
        log.lock()
            .unwrap()
            .push((call.uniqueid().to_owned(), event.clone()))
    });
    seen
}

fn events_of(
    seen: &std::sync::Mutex<Vec<(String, CallEvent)>>,
    call: &astrix::ami::Call,
) -> Vec<CallEvent> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(id, _)| id == call.uniqueid())
        .map(|(_, e)| e.clone())
        .collect()
}

#[test]
fn callbacks_report_an_answered_call_in_order() {
    let (_server, m) = setup();
    let calls = CallManager::new(&m);
    let seen = recorder(&calls);
    let call = calls
        .originate(Originate::to_application("Local/100@test", "Wait").data("1"))
        .unwrap();
    let end = call.wait_end(T).unwrap();
    let events = events_of(&seen, &call);
    assert_eq!(events.first(), Some(&CallEvent::Queued), "{events:?}");
    assert_eq!(
        events.last(),
        Some(&CallEvent::Ended(end.clone())),
        "{events:?}"
    );
    let pos = |e: &CallEvent| events.iter().position(|x| x == e);
    let started = pos(&CallEvent::DialingStarted).expect("dialing started");
    let finished = pos(&CallEvent::DialingFinished {
        status: "ANSWER".into(),
    })
    .expect("dialing finished");
    let answered = pos(&CallEvent::StateChanged(CallState::Answered)).expect("answered");
    let ended = pos(&CallEvent::StateChanged(CallState::Ended)).expect("ended");
    assert!(started < finished && answered < ended, "{events:?}");
    // Exactly one Queued and one end, whatever thread saw what first.
    assert_eq!(
        events.iter().filter(|e| **e == CallEvent::Queued).count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, CallEvent::Ended(_) | CallEvent::Failed(_)))
            .count(),
        1
    );
    // A Local pair ends with cause 0 on Asterisk 22.10.1, and so here: the
    // call is still reported as answered and ended.
    assert!(end.answered);
    assert_eq!(end.state, CallState::Ended);
    assert_eq!(end.cause, Some(0));
}

#[test]
fn callbacks_report_a_busy_call_as_failed_and_per_call_callbacks_run_too() {
    let (_server, m) = setup();
    let calls = CallManager::new(&m);
    let seen = recorder(&calls);
    let own = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&own);
    let call = calls
        .originate_with(
            Originate::to_extension("PJSIP/busy", "test", "100", 1),
            move |_, e| log.lock().unwrap().push(e.clone()),
        )
        .unwrap();
    let end = call.wait_end(T).unwrap();
    assert_eq!(end.state, CallState::Failed);
    let events = events_of(&seen, &call);
    assert_eq!(*own.lock().unwrap(), events);
    assert_eq!(events.first(), Some(&CallEvent::Queued));
    assert!(
        matches!(events.last(), Some(CallEvent::Failed(e)) if e.cause == Some(17)),
        "{events:?}"
    );
    assert!(!events.contains(&CallEvent::StateChanged(CallState::Answered)));
    // Another call of the same manager: only the manager's callback.
    let other = calls
        .originate(Originate::to_application("Local/100@test", "Wait").data("1"))
        .unwrap();
    other.wait_end(T).unwrap();
    assert!(!events_of(&seen, &other).is_empty());
    assert_eq!(own.lock().unwrap().len(), events.len());
}

#[test]
fn a_call_failed_by_its_deadline_is_reported_without_being_asked() {
    let (server, m) = setup();
    server.on_action("Originate", |_| {
        Reply::success_with("Originate successfully queued")
    });
    let calls = CallManager::new(&m).response_timeout(Duration::from_millis(100));
    let seen = recorder(&calls);
    let call = calls
        .originate(
            Originate::to_extension("Local/1@test", "test", "1", 1)
                .timeout(Duration::from_millis(100)),
        )
        .unwrap();
    // Nobody asks the call; events reaching the manager sweep deadlines.
    let t0 = Instant::now();
    while t0.elapsed() < T {
        server.push_event(astrix::ami::Message::new().with("Event", "Heartbeat"));
        if events_of(&seen, &call)
            .iter()
            .any(|e| matches!(e, CallEvent::Failed(_)))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let events = events_of(&seen, &call);
    assert_eq!(events.first(), Some(&CallEvent::Queued));
    assert!(
        matches!(events.last(), Some(CallEvent::Failed(e)) if e.note.is_some()),
        "{events:?}"
    );
}
