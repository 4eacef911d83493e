//! The threaded `Manager` against the `AmiServer` emulator over loopback:
//! login, actions, lists, callbacks, and every kind of bad input.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astrix::ami::actions::{Command, CoreShowChannels, Getvar, Originate, Ping, Setvar, Status};
use astrix::ami::codec::{DecodeError, Limits};
use astrix::ami::events::{FullyBooted, Hangup, Newchannel, OriginateResponse, UserEvent};
use astrix::ami::{
    ActionExt, AmiError, AuthMethod, DisconnectReason, Manager, Message, ProtocolError, RawAction,
};
use astrix::testing::{AmiServer, Reply};

const T: Duration = Duration::from_secs(5);

fn logged_in(server: &AmiServer) -> Manager {
    let m = Manager::builder(server.addr())
        .action_timeout(T)
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    m
}

fn wait_until(f: impl Fn() -> bool) -> bool {
    let end = Instant::now() + T;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn login_auto_uses_md5_and_never_sends_the_secret() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    m.wait_fully_booted(T).unwrap();
    let login = server.wait_for_action("Login", T).unwrap();
    assert_eq!(login.get("AuthType"), Some("MD5"));
    assert!(login.get("Secret").is_none());
    assert!(server.wait_for_action("Challenge", T).is_some());
}

#[test]
fn login_plain_and_md5_explicitly() {
    let server = AmiServer::start().unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    m.login_with("admin", &"wordpass".into(), AuthMethod::Plain)
        .unwrap();
    assert_eq!(
        server.wait_for_action("Login", T).unwrap().get("Secret"),
        Some("wordpass")
    );
    let m = Manager::connect(server.addr()).unwrap();
    m.login_with("admin", &"wordpass".into(), AuthMethod::Md5)
        .unwrap();
}

#[test]
fn login_refused_is_its_own_error_and_then_disconnects() {
    let server = AmiServer::start().unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    let err = m.login("admin", "nope").unwrap_err();
    assert!(matches!(err, AmiError::Authentication { .. }), "{err:?}");
    assert!(wait_until(|| !m.is_connected()));
    // Any later call fails at once with the reason.
    let t0 = Instant::now();
    assert!(matches!(
        m.send_action(&Ping),
        Err(AmiError::Disconnected(DisconnectReason::Eof))
    ));
    assert!(t0.elapsed() < Duration::from_secs(1));
}

#[test]
fn challenge_refused_falls_back_to_plain_or_fails_for_md5() {
    let server = AmiServer::builder().md5(false).start().unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    m.login("admin", "wordpass").unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    let err = m
        .login_with("admin", &"wordpass".into(), AuthMethod::Md5)
        .unwrap_err();
    assert!(matches!(err, AmiError::Authentication { .. }), "{err:?}");
}

#[test]
fn wrong_or_missing_banner() {
    let server = AmiServer::builder()
        .banner("HTTP/1.1 400 Bad Request")
        .start()
        .unwrap();
    let err = Manager::connect(server.addr()).unwrap_err();
    assert!(
        matches!(err, AmiError::BadBanner(ref l) if l.contains("HTTP")),
        "{err:?}"
    );

    // A server that accepts and says nothing: the connect timeout.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let _h = std::thread::spawn(move || {
        let s = l.accept();
        std::thread::sleep(Duration::from_secs(2));
        drop(s);
    });
    let err = Manager::builder(addr)
        .connect_timeout(Duration::from_millis(200))
        .connect()
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[test]
fn connection_refused() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    assert!(matches!(
        Manager::connect(addr),
        Err(AmiError::Connect { .. })
    ));
}

#[test]
fn typed_actions_against_the_emulator() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    assert!(m.send_action(&Ping).unwrap().timestamp.is_some());
    m.send_action(&Setvar::new("ASTRIX_G", "hello world"))
        .unwrap();
    assert_eq!(
        m.send_action(&Getvar::new("ASTRIX_G")).unwrap(),
        "hello world"
    );
    let out = m.send_action(&Command::new("core show channels")).unwrap();
    assert!(out.lines.iter().any(|l| l.contains("active channels")));
    assert_eq!(out.lines.last().map(String::as_str), Some(""));
    // Unknown CLI command: an error that keeps the output lines.
    let err = m.send_action(&Command::new("no such thing")).unwrap_err();
    assert!(err.response().unwrap().output()[0].starts_with("No such command"));
    // Unknown action.
    let err = m.send_action(&RawAction::new("NoSuchAction")).unwrap_err();
    assert!(matches!(err, AmiError::ActionFailed(_)));
}

#[test]
fn event_lists_come_back_whole() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    assert!(m.send_action(&CoreShowChannels).unwrap().is_empty());
    for i in 0..3 {
        let o = Originate::to_application(format!("PJSIP/{i}"), "Wait").async_(true);
        m.send_action(&o).unwrap();
    }
    assert!(wait_until(|| server.channels().len() == 3));
    let chans = m.send_action(&CoreShowChannels).unwrap();
    assert_eq!(chans.len(), 3);
    let status = m.send_action(&Status::all()).unwrap();
    assert_eq!(status.events.len(), 3);
    assert_eq!(
        status.complete.as_ref().and_then(|c| c.get("ListItems")),
        Some("3")
    );
}

#[test]
fn old_style_list_without_eventlist_start() {
    let server = AmiServer::start().unwrap();
    server.on_action("QueueStatus", |_| {
        Reply::success_with("Queue status will follow")
            .list_event(
                Message::new()
                    .with("Event", "QueueParams")
                    .with("Queue", "q1"),
            )
            .list_event(Message::new().with("Event", "QueueStatusComplete"))
    });
    let m = logged_in(&server);
    let r = m
        .send_action(&RawAction::new("QueueStatus").list())
        .unwrap();
    assert_eq!(r.events.len(), 1);
    assert!(r.complete.is_some());
}

#[test]
fn callbacks_by_name_type_catch_all_and_orphan() {
    let server = AmiServer::start().unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    m.on_event("newchannel", move |e| {
        s.lock()
            .unwrap()
            .push(format!("name:{}", e.event_name().unwrap()))
    });
    let s = seen.clone();
    m.on(move |e: &Newchannel| {
        s.lock()
            .unwrap()
            .push(format!("typed:{}", e.channel.channel))
    });
    let s = seen.clone();
    m.on(move |e: &FullyBooted| s.lock().unwrap().push(format!("booted:{:?}", e.status)));
    let any = Arc::new(AtomicUsize::new(0));
    let a = any.clone();
    let any_id = m.on_any_event(move |_| {
        a.fetch_add(1, Ordering::SeqCst);
    });
    let orphans = Arc::new(Mutex::new(Vec::new()));
    let o = orphans.clone();
    m.on_orphan(move |r| o.lock().unwrap().push(r.clone()));
    m.login("admin", "wordpass").unwrap();

    server.push_event(
        Message::new()
            .with("Event", "Newchannel")
            .with("Channel", "PJSIP/1-1")
            .with("Uniqueid", "1.1"),
    );
    assert!(wait_until(|| seen.lock().unwrap().len() == 3));
    let v = seen.lock().unwrap().clone();
    assert!(
        v.contains(&"booted:Some(\"Fully Booted\")".to_owned()),
        "{v:?}"
    );
    assert!(v.contains(&"name:Newchannel".to_owned()));
    assert!(v.contains(&"typed:PJSIP/1-1".to_owned()));
    assert!(wait_until(|| any.load(Ordering::SeqCst) == 2));

    // Unregistered: no more calls.
    assert!(m.remove_callback(any_id));
    assert!(!m.remove_callback(any_id));

    // A response with an ActionID nobody waits for.
    server.send_raw(b"Response: Success\r\nActionID: someone-else-1\r\nPing: Pong\r\n\r\n");
    assert!(wait_until(|| orphans.lock().unwrap().len() == 1));
    assert_eq!(
        orphans.lock().unwrap()[0].action_id(),
        Some("someone-else-1")
    );
    m.send_action(&Ping).unwrap();
    assert_eq!(any.load(Ordering::SeqCst), 2);
}

#[test]
fn events_with_response_or_foreign_actionid_are_events() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    m.on(move |e: &OriginateResponse| g.lock().unwrap().push(e.clone()));
    // Another connection's OriginateResponse, with its ActionID.
    server.push_event(
        Message::new()
            .with("Event", "OriginateResponse")
            .with("ActionID", "other-process-7")
            .with("Response", "Failure")
            .with("Reason", "5"),
    );
    assert!(wait_until(|| got.lock().unwrap().len() == 1));
    assert_eq!(got.lock().unwrap()[0].reason, Some(5));
}

#[test]
fn originate_brings_its_events() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let (tx, rx) = crossbeam_channel::unbounded();
    let t = tx.clone();
    m.on(move |e: &OriginateResponse| {
        let _ = t.send(format!("OriginateResponse:{}", e.response));
    });
    let t = tx.clone();
    m.on(move |e: &Hangup| {
        let _ = t.send(format!("Hangup:{:?}", e.cause));
    });
    let o = Originate::to_extension("Local/100@test", "test", "100", 1)
        .variable("A", "1,2")
        .variable("B", "x")
        .async_(true)
        .with_action_id("my-originate-1");
    let r = m.send_action(&o).unwrap();
    assert_eq!(r.action_id(), Some("my-originate-1"));
    assert_eq!(rx.recv_timeout(T).unwrap(), "OriginateResponse:Success");
    let sent = server.wait_for_action("Originate", T).unwrap();
    assert_eq!(
        sent.get_all("Variable").collect::<Vec<_>>(),
        ["A=1,2", "B=x"]
    );
    let ch = server.channels().remove(0);
    m.send_action(&astrix::ami::actions::Hangup::new(ch))
        .unwrap();
    // Both halves of a Local channel end with cause 0, as on Asterisk 22.
    assert_eq!(rx.recv_timeout(T).unwrap(), "Hangup:Some(0)");

    // A failing originate.
    let o = Originate::to_extension("Local/busy@test", "test", "100", 1).async_(true);
    m.send_action(&o).unwrap();
    let mut got = Vec::new();
    while let Ok(s) = rx.recv_timeout(T) {
        got.push(s);
        if got.iter().any(|s| s.starts_with("OriginateResponse")) {
            break;
        }
    }
    // The ;1 half ends (cause 0) before the OriginateResponse; the ;2
    // half's Hangup with 17 User busy comes after it.
    assert!(got.contains(&"Hangup:Some(0)".into()), "{got:?}");
    assert!(got.contains(&"OriginateResponse:Failure".into()), "{got:?}");
}

#[test]
fn a_panicking_callback_does_not_stop_the_dispatcher() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let count = Arc::new(AtomicUsize::new(0));
    m.on_event("UserEvent", |_| panic!("boom"));
    let c = count.clone();
    m.on(move |_: &UserEvent| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    for _ in 0..3 {
        server.push_event(
            Message::new()
                .with("Event", "UserEvent")
                .with("UserEvent", "x"),
        );
    }
    assert!(wait_until(|| count.load(Ordering::SeqCst) == 3));
    m.send_action(&Ping).unwrap();
}

#[test]
fn a_callback_may_send_actions_during_an_event_flood() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .action_timeout(T)
        .event_queue(16)
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let weak = m.downgrade();
    let answered = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let (a, s) = (answered.clone(), seen.clone());
    m.on_event("VarSet", move |_| {
        s.fetch_add(1, Ordering::SeqCst);
        if let Some(m) = weak.upgrade() {
            if m.send_action(&Ping).is_ok() {
                a.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // A flood far beyond the queue size, in one write.
    let mut flood = Vec::new();
    for i in 0..2000 {
        Message::new()
            .with("Event", "VarSet")
            .with("Channel", "none")
            .with("Uniqueid", "none")
            .with("Variable", "X")
            .with("Value", &i.to_string())
            .write_wire(&mut flood);
    }
    server.send_raw(&flood);
    assert!(wait_until(|| seen.load(Ordering::SeqCst) == 2000));
    // The last callback may still be waiting for its Pong.
    assert!(wait_until(|| answered.load(Ordering::SeqCst) == 2000));
}

#[test]
fn typed_event_that_fails_to_parse_still_reaches_name_callbacks() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let raw = Arc::new(AtomicUsize::new(0));
    let typed = Arc::new(AtomicUsize::new(0));
    let (r, t) = (raw.clone(), typed.clone());
    m.on_event("Hangup", move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    m.on(move |_: &Hangup| {
        t.fetch_add(1, Ordering::SeqCst);
    });
    let reported = Arc::new(Mutex::new(Vec::new()));
    let rep = reported.clone();
    m.on_protocol_error(move |e| rep.lock().unwrap().push(e.clone()));
    // A cause that is not a number: the typed form fails; the message still
    // reaches the name callback.
    server.push_event(
        Message::new()
            .with("Event", "Hangup")
            .with("Channel", "PJSIP/1-1")
            .with("Uniqueid", "1.1")
            .with("Cause", "sixteen"),
    );
    assert!(wait_until(|| raw.load(Ordering::SeqCst) == 1));
    m.send_action(&Ping).unwrap();
    assert_eq!(typed.load(Ordering::SeqCst), 0);
    // ... and the failure is reported, with the event.
    assert!(wait_until(|| reported.lock().unwrap().len() == 1));
    let first = reported.lock().unwrap()[0].clone();
    match first {
        ProtocolError::TypedEvent { message, .. } => {
            assert_eq!(message.get("Cause"), Some("sixteen"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_server_that_never_answers_times_out_then_the_next_call_works() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    server.on_action("Ping", move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::none()
        } else {
            Reply::success()
        }
    });
    let err = m
        .send_action_timeout(&Ping, Duration::from_millis(200))
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    m.send_action(&Ping).unwrap();
}

#[test]
fn late_reply_goes_to_the_orphan_handler() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let orphans = Arc::new(AtomicUsize::new(0));
    let o = orphans.clone();
    m.on_orphan(move |_| {
        o.fetch_add(1, Ordering::SeqCst);
    });
    server.on_action("Ping", |_| {
        Reply::none()
            .delay(Duration::from_millis(300))
            .then(Reply::success())
    });
    assert!(m
        .send_action_timeout(&Ping, Duration::from_millis(50))
        .unwrap_err()
        .is_timeout());
    assert!(wait_until(|| orphans.load(Ordering::SeqCst) == 1));
}

#[test]
fn disconnect_wakes_every_waiting_caller_at_once() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .action_timeout(Duration::from_secs(30))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    server.on_action("Ping", |_| Reply::none());
    let t0 = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || m.send_action(&Ping))
        })
        .collect();
    assert!(wait_until(|| server
        .actions()
        .iter()
        .filter(|a| a.get("Action") == Some("Ping"))
        .count()
        == 8));
    server.close_connections();
    for h in handles {
        let r = h.join().unwrap();
        assert!(
            matches!(r, Err(AmiError::Disconnected(DisconnectReason::Eof))),
            "{r:?}"
        );
    }
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[test]
fn server_closing_mid_response_and_mid_list() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    server.on_action("Ping", |a| {
        let id = a.action_id().unwrap_or("");
        Reply::none()
            .raw(format!("Response: Success\r\nActionID: {id}\r\nPing: Po"))
            .close()
    });
    let err = m.send_action(&Ping).unwrap_err();
    assert!(err.is_disconnect(), "{err:?}");

    let m = logged_in(&server);
    server.on_action("CoreShowChannels", |a| {
        let id = a.action_id().unwrap_or("");
        Reply::none()
            .raw(format!(
                "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n\
                 Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: X\r\nUniqueid: 1\r\n\r\n"
            ))
            .close()
    });
    let err = m.send_action(&CoreShowChannels).unwrap_err();
    assert!(err.is_disconnect(), "{err:?}");
}

#[test]
fn cr_lf_in_an_action_is_refused_before_a_byte_is_written() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let before = server.actions().len();
    for a in [
        RawAction::new("Setvar")
            .header("Variable", "X")
            .header("Value", "1\r\nAction: Logoff"),
        RawAction::new("Setvar").header("Var\niable", "X"),
        RawAction::new("Ping\r\n"),
    ] {
        let err = m.send_action(&a).unwrap_err();
        assert!(matches!(err, AmiError::Encode(_)), "{err:?}");
    }
    let err = m.send_action(&Setvar::new("X", "a\nb")).unwrap_err();
    assert!(matches!(err, AmiError::Encode(_)));
    m.send_action(&Ping).unwrap();
    assert_eq!(server.actions().len(), before + 1);
}

#[test]
fn action_ids_are_unique_and_a_caller_set_one_is_kept() {
    let server = AmiServer::start().unwrap();
    let a = logged_in(&server);
    let b = logged_in(&server);
    for m in [&a, &b] {
        m.send_action(&Ping).unwrap();
        m.send_action(&Ping).unwrap();
    }
    a.send_action(&Ping.with_action_id("mine-42")).unwrap();
    let ids: Vec<String> = server
        .actions()
        .iter()
        .filter(|m| m.get("Action") == Some("Ping"))
        .map(|m| m.action_id().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    let mut d = ids.clone();
    d.sort();
    d.dedup();
    assert_eq!(d.len(), 5, "{ids:?}");
    assert!(ids.contains(&"mine-42".to_owned()));
    // The same ID twice at once is refused.
    server.on_action("Ping", |_| Reply::none());
    let a2 = a.clone();
    let h = std::thread::spawn(move || {
        a2.send_action_timeout(&Ping.with_action_id("dup"), Duration::from_secs(2))
    });
    assert!(wait_until(|| server
        .actions()
        .iter()
        .any(|m| m.action_id() == Some("dup"))));
    let err = a.send_action(&Ping.with_action_id("dup")).unwrap_err();
    assert!(matches!(err, AmiError::DuplicateActionId(_)), "{err:?}");
    let _ = h.join();
}

#[test]
fn non_utf8_values_keep_their_message() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let got = Arc::new(Mutex::new(None));
    let g = got.clone();
    m.on(move |e: &Newchannel| *g.lock().unwrap() = Some(e.channel.caller_id_name.clone()));
    server.send_raw(b"Event: Newchannel\r\nChannel: SIP/1-1\r\nCallerIDName: Jos\xe9 M\xfcller\r\nUniqueid: 1.2\r\n\r\n");
    assert!(wait_until(|| got.lock().unwrap().is_some()));
    assert_eq!(
        got.lock().unwrap().clone().unwrap().as_deref(),
        Some("José Müller")
    );
}

#[test]
fn oversized_and_malformed_messages_are_reported_not_dropped() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .limits(Limits {
            max_line_len: 256,
            max_message_len: 1024,
            max_headers: 20,
        })
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = errors.clone();
    m.on_protocol_error(move |err| {
        if let ProtocolError::Decode(d) = err {
            e.lock().unwrap().push(d.clone())
        }
    });
    let events = Arc::new(AtomicUsize::new(0));
    let ev = events.clone();
    m.on_event("Ok", move |_| {
        ev.fetch_add(1, Ordering::SeqCst);
    });
    let mut raw = Vec::new();
    raw.extend_from_slice(b"Event: Long\r\nValue: ");
    raw.extend(std::iter::repeat_n(b'x', 10_000));
    raw.extend_from_slice(b"\r\n\r\nEvent: Ok\r\n\r\n");
    raw.extend_from_slice(b"Event: Colonless\r\nthis line has no colon\r\n\r\nEvent: Ok\r\n\r\n");
    raw.extend_from_slice(b"Event: Many\r\n");
    for i in 0..30 {
        raw.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\nEvent: Ok\r\n\r\n");
    server.send_raw(&raw);
    assert!(wait_until(|| events.load(Ordering::SeqCst) == 3));
    let errs = errors.lock().unwrap().clone();
    assert!(
        matches!(errs[0], DecodeError::LineTooLong { limit: 256, .. }),
        "{errs:?}"
    );
    assert!(
        matches!(errs[1], DecodeError::MissingColon { .. }),
        "{errs:?}"
    );
    assert!(
        matches!(errs[2], DecodeError::TooManyHeaders { limit: 20, .. }),
        "{errs:?}"
    );

    // A malformed reply goes to the caller that waits for it.
    server.on_action("Ping", |a| {
        let id = a.action_id().unwrap_or("");
        Reply::none().raw(format!(
            "Response: Success\r\nActionID: {id}\r\nbroken line\r\n\r\n"
        ))
    });
    let err = m.send_action(&Ping).unwrap_err();
    assert!(
        matches!(err, AmiError::Protocol(DecodeError::MissingColon { .. })),
        "{err:?}"
    );
}

#[test]
fn random_bytes_from_the_server_never_panic_or_hang() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut junk = Vec::with_capacity(200_000);
    for _ in 0..200_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        junk.push(seed as u8);
    }
    server.send_raw(&junk);
    server.send_raw(b"\r\n\r\n");
    // The connection still works afterwards.
    m.send_action(&Ping).unwrap();
}

#[test]
fn close_and_logoff_never_hang() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    // Close from inside a callback.
    let weak = m.downgrade();
    m.on_event("UserEvent", move |_| {
        if let Some(m) = weak.upgrade() {
            m.close();
        }
    });
    server.push_event(
        Message::new()
            .with("Event", "UserEvent")
            .with("UserEvent", "bye"),
    );
    assert!(wait_until(|| !m.is_connected()));
    assert!(matches!(
        m.disconnect_reason(),
        Some(DisconnectReason::Closed)
    ));
    m.close();
    m.close();

    // Logoff while the server never answers Logoff: bounded by the timeout.
    server.on_action("Logoff", |_| Reply::none());
    let m = Manager::builder(server.addr())
        .action_timeout(Duration::from_millis(300))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let t0 = Instant::now();
    let _ = m.logoff();
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(!m.is_connected());
}

#[test]
fn a_server_that_speaks_first_bytes_without_a_banner_line_end() {
    // The banner split over two writes.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(b"Asterisk Call Man").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(b"ager/2.10.4\r\n").unwrap();
        let mut b = [0u8; 64];
        let _ = s.read(&mut b);
    });
    let m = Manager::connect(addr).unwrap();
    assert_eq!(m.ami_version(), "2.10.4");
    m.close();
    h.join().unwrap();
}

#[test]
fn a_message_cut_off_by_eof_is_reported() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = errors.clone();
    m.on_protocol_error(move |err| {
        if let ProtocolError::Decode(d) = err {
            e.lock().unwrap().push(d.clone())
        }
    });
    server.send_raw(b"Event: Newchannel\r\nChannel: PJSIP/1-1\r\nUniq");
    std::thread::sleep(Duration::from_millis(50));
    server.close_connections();
    assert!(wait_until(|| !errors.lock().unwrap().is_empty()));
    let errs = errors.lock().unwrap().clone();
    match &errs[0] {
        DecodeError::Truncated { partial, .. } => {
            assert_eq!(partial.get("Channel"), Some("PJSIP/1-1"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn secrets_never_show_in_debug_output() {
    use astrix::ami::actions::Login;
    let plain = format!("{:?}", Login::plain("admin", "hunter2".into()));
    let md5 = format!(
        "{:?}",
        Login::md5("admin", "81747ab95460087032d274a6c998314b")
    );
    assert!(!plain.contains("hunter2"), "{plain}");
    assert!(!md5.contains("81747ab9"), "{md5}");
    let sent = Message::new()
        .with("Action", "Login")
        .with("Secret", "hunter2")
        .with("Key", "81747ab9");
    let dbg = format!("{sent:?}");
    assert!(
        !dbg.contains("hunter2") && !dbg.contains("81747ab9"),
        "{dbg}"
    );
}

#[test]
fn keepalive_pings_and_detects_a_peer_that_stopped_answering() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .keepalive(Duration::from_millis(50))
        .action_timeout(Duration::from_millis(300))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let pings = || {
        server
            .actions()
            .iter()
            .filter(|a| a.get("Action") == Some("Ping"))
            .count()
    };
    assert!(wait_until(|| pings() >= 3));
    assert!(m.is_connected());
    // The peer stays connected but stops answering.
    server.on_action("Ping", |_| Reply::none());
    assert!(wait_until(|| !m.is_connected()));
    assert!(
        matches!(
            m.disconnect_reason(),
            Some(DisconnectReason::KeepaliveTimeout)
        ),
        "{:?}",
        m.disconnect_reason()
    );
}

#[test]
fn server_closing_during_login_is_a_typed_error() {
    for action in ["Challenge", "Login"] {
        let server = AmiServer::start().unwrap();
        server.on_action(action, |_| Reply::none().close());
        let m = Manager::builder(server.addr())
            .action_timeout(T)
            .connect()
            .unwrap();
        let started = Instant::now();
        let err = m.login("admin", "wordpass").unwrap_err();
        assert!(err.is_disconnect(), "{action}: {err:?}");
        assert!(
            started.elapsed() < T,
            "{action}: the caller waited for a timeout"
        );
    }
}

/// A peer that sends everything (banner, responses, an EventList) one byte
/// at a time: every call still gets its whole answer.
#[test]
fn a_server_that_trickles_one_byte_at_a_time() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let trickle = |s: &mut std::net::TcpStream, text: &str| {
            for b in text.as_bytes() {
                s.write_all(&[*b]).unwrap();
                if *b == b'\n' {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        };
        trickle(&mut s, "Asterisk Call Manager/11.0.0\r\n");
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        let mut answered = 0;
        while answered < 4 {
            if s.read(&mut byte).unwrap() == 0 {
                return answered;
            }
            buf.push(byte[0]);
            if !buf.ends_with(b"\r\n\r\n") {
                continue;
            }
            let action = String::from_utf8_lossy(&buf).into_owned();
            buf.clear();
            let header = |name: &str| {
                action
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                    .unwrap_or_default()
            };
            let id = header("ActionID:");
            let reply = match header("Action:").as_str() {
                "Challenge" => format!("Response: Error\r\nActionID: {id}\r\nMessage: No MD5 here\r\n\r\n"),
                "Login" => format!("Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"),
                "CoreShowChannels" => format!(
                    "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n\
                     Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: Local/1@x-00000001;1\r\nUniqueid: 1.1\r\n\r\n\
                     Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"
                ),
                _ => format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\nTimestamp: 1.0\r\n\r\n"),
            };
            trickle(&mut s, &reply);
            answered += 1;
        }
        answered
    });
    let m = Manager::builder(addr).action_timeout(T).connect().unwrap();
    m.login("admin", "wordpass").unwrap();
    m.send_action(&Ping).unwrap();
    let list = m.send_action(&CoreShowChannels).unwrap();
    assert_eq!(list.len(), 1);
    m.close();
    assert_eq!(peer.join().unwrap(), 4);
}

#[test]
fn closing_from_a_callback_during_a_flood_does_not_deadlock() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .action_timeout(T)
        .event_queue(16)
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let weak = m.downgrade();
    let (tx, closed) = crossbeam_channel::unbounded();
    let calls = AtomicUsize::new(0);
    m.on_event("UserEvent", move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            // Let the reader hit the high-water mark, then close.
            std::thread::sleep(Duration::from_millis(300));
            if let Some(m) = weak.upgrade() {
                m.close();
            }
            let _ = tx.send(());
        }
    });
    let mut flood = Vec::new();
    for i in 0..20_000 {
        Message::new()
            .with("Event", "UserEvent")
            .with("UserEvent", &i.to_string())
            .write_wire(&mut flood);
    }
    server.send_raw(&flood);
    closed.recv_timeout(T).expect("close() returned");
}

#[test]
fn users_with_their_permission_classes() {
    let server = AmiServer::builder()
        .user("limited", "limitedpass", "system,call", "system")
        .start()
        .unwrap();
    // The default user stays; a wrong secret is refused and closes.
    assert!(Manager::connect(server.addr())
        .unwrap()
        .login("limited", "nope")
        .is_err());
    let m = Manager::connect(server.addr()).unwrap();
    m.login("limited", "limitedpass").unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    m.on_event("UserEvent", move |e| {
        let _ = tx.send(e.get("UserEvent").unwrap_or("").to_owned());
    });
    m.send_action(&RawAction::new("Ping")).unwrap();
    for action in ["Getvar", "Originate", "Command", "UserEvent"] {
        let err = m.send_action(&RawAction::new(action)).unwrap_err();
        assert_eq!(
            err.response().and_then(|r| r.message_text()),
            Some("Permission denied"),
            "{action}"
        );
    }
    // Events go by read class: `user` is not among `system,call`.
    let admin = logged_in(&server);
    admin
        .send_action(&RawAction::new("UserEvent").header("UserEvent", "hidden"))
        .unwrap();
    server.push_event(
        Message::new()
            .with("Event", "UserEvent")
            .with("Privilege", "call,all")
            .with("UserEvent", "seen"),
    );
    assert_eq!(rx.recv_timeout(T).unwrap(), "seen");
}

/// pystrix hands every handler `(event, manager)`: the `_with` callbacks are
/// lent the manager, so they can send actions without a clone that keeps
/// the connection open after the user dropped every handle.
#[test]
fn callbacks_lent_the_manager_send_actions_and_keep_nothing_open() {
    let server = AmiServer::start().unwrap();
    let manager = Manager::connect(server.addr()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let by_name = tx.clone();
    manager.on_event_with("FullyBooted", move |_, m| {
        let _ = by_name.send(("name", m.send_action(&Ping).is_ok()));
    });
    let typed = tx.clone();
    manager.on_with(move |_: &FullyBooted, m: &Manager| {
        let _ = typed.send(("typed", m.send_action(&Ping).is_ok()));
    });
    let any = tx.clone();
    manager.on_any_event_with(move |e, m| {
        if e.event_name() == Some("FullyBooted") {
            let _ = any.send(("any", m.is_connected()));
        }
    });
    let orphan = tx;
    manager.on_orphan_with(move |_, m| {
        let _ = orphan.send(("orphan", m.send_action(&Ping).is_ok()));
    });
    manager.login("admin", "wordpass").unwrap();
    // A reply nobody waits for.
    let mut late = astrix::ami::Message::new();
    late.push("Response", "Success");
    late.push("ActionID", "nobody-waits");
    let mut bytes = Vec::new();
    late.write_wire(&mut bytes);
    server.send_raw(&bytes);
    let mut seen: Vec<(&str, bool)> = (0..4)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("any", true),
            ("name", true),
            ("orphan", true),
            ("typed", true)
        ]
    );
    // The callbacks hold no handle: dropping the last one closes.
    drop(manager);
    for _ in 0..250 {
        if server.connections() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        server.connections(),
        0,
        "the connection outlived its manager"
    );
}

/// Callers woken together leave their writes to the last of them on its
/// way back (src/ami/manager/reply.rs). Callers that give up at once,
/// their replies landing after, beside callers that wait: no write may be
/// left behind, or a waiting caller would time out here.
#[test]
fn callers_that_give_up_never_strand_the_writes_of_others() {
    let server = AmiServer::start().unwrap();
    let m = logged_in(&server);
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let m = m.clone();
            std::thread::spawn(move || {
                for n in 0..400 {
                    if i % 3 == 0 && n % 2 == 0 {
                        match m.send_action_timeout(&Ping, Duration::from_micros(1)) {
                            Ok(_) | Err(AmiError::Timeout { .. }) => {}
                            Err(e) => panic!("{e}"),
                        }
                    } else if let Err(e) = m.send_action(&Ping) {
                        panic!("thread {i}, action {n}: {e}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // And one more from here, after them all.
    m.send_action(&Ping).unwrap();
}

/// Callers look for fast replies and sleep through slow ones; both kinds,
/// mixed on one manager, with looking on (the default) and off, all come
/// back with their own replies.
#[test]
fn fast_and_slow_replies_mixed_reach_their_callers() {
    for spin in [None, Some(Duration::ZERO), Some(Duration::from_millis(1))] {
        let server = AmiServer::start().unwrap();
        server.on_action("Slow", |a| {
            let tag = a.get("Tag").unwrap_or_default().to_string();
            Reply::none()
                .delay(Duration::from_millis(20))
                .then(Reply::success_with(&tag))
        });
        let mut b = Manager::builder(server.addr()).action_timeout(T);
        if let Some(s) = spin {
            b = b.reply_spin(s);
        }
        let m = b.connect().unwrap();
        m.login("admin", "wordpass").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for n in 0..60 {
                        if i % 4 == 0 && n % 10 == 0 {
                            let tag = format!("t{i}_{n}");
                            let slow = RawAction::new("Slow").header("Tag", &tag);
                            let r = m.send_action(&slow).unwrap();
                            assert_eq!(r.message_text(), Some(tag.as_str()), "{spin:?}");
                        } else {
                            m.send_action(&Ping).unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
