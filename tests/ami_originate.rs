//! Originate and call tracking against the emulator.

use std::time::{Duration, Instant};

use astrix::ami::actions::{Hangup, Originate};
use astrix::ami::{CallError, CallManager, CallState, Manager};
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
