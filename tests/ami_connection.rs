//! `ami::Connection`, the sans-IO AMI client, driven without sockets: the
//! recordings of a real Asterisk 22 fed whole and split at every position,
//! the same recordings through a `Manager` over loopback, and login, lists,
//! timeouts, keepalive and reconnection driven with a fake clock.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astrix::ami::actions::{Challenge, Login, Ping, QueueStatus};
use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::{
    Action, AmiError, AuthMethod, Connection, DisconnectReason, Manager, Message, Output, Phase,
    RawAction,
};
use common::{fixture, recorded_actions, replay_server, AMI_RECORDINGS};

/// One output, comparable: the messages themselves, errors as text.
#[derive(Debug, PartialEq)]
enum Got {
    Reply(usize, Result<astrix::ami::Response, String>),
    Event(Message),
    Orphan(Message),
    Other(String),
}

fn got(o: Output<usize>) -> Got {
    match o {
        Output::Reply { tag, result, .. } => Got::Reply(tag, result.map_err(|e| format!("{e:?}"))),
        Output::Event(m) => Got::Event(m),
        Output::Orphan(m) => Got::Orphan(m),
        other => Got::Other(format!("{other:?}")),
    }
}

/// Submits the recorded `actions`, feeds the recorded server bytes in
/// `chunks`, and returns every output as text.
fn replay(actions: &[RawAction], chunks: &[&[u8]]) -> Vec<Got> {
    let now = Instant::now();
    let mut conn: Connection<usize> = Connection::new();
    for (i, a) in actions.iter().enumerate() {
        conn.send(a, i, now).unwrap();
    }
    let mut out = Vec::new();
    for c in chunks {
        conn.feed(c, now);
        while let Some(o) = conn.poll_output() {
            out.push(got(o));
        }
    }
    out
}

#[test]
fn recordings_split_anywhere_give_the_same_results() {
    for name in AMI_RECORDINGS {
        let bin = fixture(&format!("{name}.bin"));
        let actions = recorded_actions(name);
        let whole = replay(&actions, &[&bin]);
        assert!(whole.len() > 1, "{name}: {whole:?}");
        assert!(
            !whole
                .iter()
                .any(|o| matches!(o, Got::Other(s) if s.starts_with("ProtocolError"))),
            "{name}: {whole:?}"
        );
        // Byte by byte: a chunk boundary at every position at once.
        let bytes: Vec<&[u8]> = bin.chunks(1).collect();
        assert_eq!(replay(&actions, &bytes), whole, "{name} byte by byte");
        // Two pieces, split at every position (every 13th in the large
        // recordings, to keep CI short; `ASTRIX_FUZZ_CASES` set: every one).
        let step = if bin.len() > 8 * 1024 && std::env::var_os("ASTRIX_FUZZ_CASES").is_none() {
            13
        } else {
            1
        };
        for p in (0..=bin.len()).step_by(step) {
            let (a, b) = bin.split_at(p);
            assert_eq!(replay(&actions, &[a, b]), whole, "{name} split at {p}");
        }
    }
}

/// What a replay gave: replies (wire form), events and orphans.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    replies: Vec<String>,
    events: Vec<Message>,
    orphans: Vec<Message>,
}

fn wire(r: &astrix::ami::Response) -> String {
    let mut w = Vec::new();
    r.write_wire(&mut w);
    String::from_utf8_lossy(&w).into_owned()
}

#[test]
fn recordings_through_the_connection_give_what_the_manager_gives() {
    for name in [
        "ami_actions",
        "ami_login_md5",
        "ami_login_plain",
        "asyncagi_over_ami",
    ] {
        // The Manager, over loopback, one action at a time.
        let (addr, server) = replay_server(name);
        let m = Manager::builder(addr)
            .action_timeout(Duration::from_secs(5))
            .connect()
            .unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s2 = seen.clone();
        m.on_any_event(move |e| s2.lock().unwrap().events.push(e.clone()));
        let s3 = seen.clone();
        m.on_orphan(move |o| s3.lock().unwrap().orphans.push(o.clone()));
        for a in recorded_actions(name) {
            let reply = match m.send_action(&a) {
                Ok(r) => wire(&r),
                Err(AmiError::ActionFailed(r)) => wire(&r),
                Err(e) => format!("{e}"),
            };
            seen.lock().unwrap().replies.push(reply);
        }
        m.close();
        server.join().unwrap();
        let by_manager = std::mem::take(&mut *seen.lock().unwrap());

        // The connection alone, fed the same bytes.
        let now = Instant::now();
        let mut conn: Connection<usize> = Connection::new();
        let actions = recorded_actions(name);
        for (i, a) in actions.iter().enumerate() {
            conn.send(a, i, now).unwrap();
        }
        conn.feed(&fixture(&format!("{name}.bin")), now);
        conn.connection_lost(DisconnectReason::Eof);
        let mut by_conn = Seen::default();
        let mut replies = vec![None; actions.len()];
        while let Some(o) = conn.poll_output() {
            match o {
                Output::Reply { tag, result, .. } => {
                    replies[tag] = Some(match result {
                        Ok(r) => wire(&r),
                        Err(AmiError::ActionFailed(r)) => wire(&r),
                        Err(e) => format!("{e}"),
                    })
                }
                Output::Event(e) => by_conn.events.push(e),
                Output::Orphan(o) => by_conn.orphans.push(o),
                _ => {}
            }
        }
        by_conn.replies = replies.into_iter().map(Option::unwrap).collect();
        assert_eq!(by_conn, by_manager, "{name}");
    }
}

const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

/// A connection past its banner at `t0`.
fn open(t0: Instant) -> Connection<&'static str> {
    let mut c = Connection::new();
    c.feed(BANNER, t0);
    assert!(matches!(c.poll_output(), Some(Output::Connected(_))));
    assert_eq!(c.phase(), Phase::Open);
    c
}

/// The messages the connection wants to send, taken.
fn sent<T>(c: &mut Connection<T>) -> Vec<Message> {
    let mut bytes = Vec::new();
    c.take_transmit(&mut bytes);
    let mut d = Decoder::without_banner(Default::default());
    d.feed(&bytes);
    let mut out = Vec::new();
    while let Ok(Some(Frame::Message(m))) = d.decode() {
        out.push(m);
    }
    out
}

fn reply_to(action: &Message, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut m = Message::new();
    for (n, v) in headers {
        m.push(n, v);
    }
    m.push("ActionID", action.action_id().unwrap());
    let mut w = Vec::new();
    m.write_wire(&mut w);
    w
}

fn outputs<T>(c: &mut Connection<T>) -> Vec<Output<T>> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

#[test]
fn md5_login_then_reconnect_restores_without_a_secret_on_the_wire() {
    let t0 = Instant::now();
    let mut c = open(t0);
    c.login("admin", &"wordpass".into(), AuthMethod::Md5, "login", t0)
        .unwrap();
    let challenge = sent(&mut c).remove(0);
    assert_eq!(challenge.get("Action"), Some("Challenge"));
    c.feed(
        &reply_to(
            &challenge,
            &[("Response", "Success"), ("Challenge", "513274994")],
        ),
        t0,
    );
    let login = sent(&mut c).remove(0);
    assert_eq!(login.get("Key"), Some("81747ab95460087032d274a6c998314b"));
    assert_eq!(login.get("Secret"), None);
    c.feed(&reply_to(&login, &[("Response", "Success")]), t0);
    assert!(matches!(
        outputs(&mut c).as_slice(),
        [Output::Reply {
            tag: "login",
            result: Ok(_),
            ..
        }]
    ));
    // A filter that succeeds is replayed on the next connection.
    let filter = RawAction::new("Filter")
        .header("Operation", "Add")
        .header("Filter", "Event: Newchannel");
    c.send(&filter, "filter", t0).unwrap();
    let f = sent(&mut c).remove(0);
    c.feed(&reply_to(&f, &[("Response", "Success")]), t0);
    assert_eq!(outputs(&mut c).len(), 1);

    c.connection_lost(DisconnectReason::Eof);
    assert!(matches!(
        outputs(&mut c).as_slice(),
        [Output::Lost(DisconnectReason::Eof)]
    ));
    assert!(matches!(
        c.send(&Ping, "refused", t0),
        Err(AmiError::Disconnected(DisconnectReason::Eof))
    ));
    c.connection_made();
    c.feed(BANNER, t0);
    assert_eq!(c.phase(), Phase::Restoring);
    assert!(c.send(&Ping, "still refused", t0).is_err());
    // The server refuses Challenge this time: with Md5, no plain secret.
    let challenge = sent(&mut c).remove(0);
    assert_eq!(challenge.get("Action"), Some("Challenge"));
    c.feed(&reply_to(&challenge, &[("Response", "Error")]), t0);
    assert!(sent(&mut c).is_empty(), "nothing after a refused challenge");
    let out = outputs(&mut c);
    assert!(
        matches!(
            out.as_slice(),
            [
                Output::Connected(_),
                Output::Close(AmiError::Authentication { .. })
            ]
        ),
        "{out:?}"
    );
    c.connection_lost(DisconnectReason::Eof);
    outputs(&mut c);

    // Next attempt: the challenge is answered; login, then the filter.
    c.connection_made();
    c.feed(BANNER, t0);
    let challenge = sent(&mut c).remove(0);
    c.feed(
        &reply_to(&challenge, &[("Response", "Success"), ("Challenge", "42")]),
        t0,
    );
    let login = sent(&mut c).remove(0);
    assert!(login.get("Key").is_some() && login.get("Secret").is_none());
    c.feed(&reply_to(&login, &[("Response", "Success")]), t0);
    let replayed = sent(&mut c).remove(0);
    assert_eq!(replayed.get("Filter"), Some("Event: Newchannel"));
    assert_ne!(replayed.action_id(), f.action_id());
    c.feed(&reply_to(&replayed, &[("Response", "Success")]), t0);
    assert!(matches!(
        outputs(&mut c).as_slice(),
        [Output::Connected(_), Output::Restored]
    ));
    assert_eq!(c.phase(), Phase::Open);
    assert!(c.send(&Ping, "works again", t0).is_ok());
}

#[test]
fn plain_secret_only_where_the_method_allows_it() {
    let t0 = Instant::now();
    // Auto: plain after a refused challenge.
    let mut c = open(t0);
    c.login("admin", &"wordpass".into(), AuthMethod::Auto, "auto", t0)
        .unwrap();
    let ch = sent(&mut c).remove(0);
    c.feed(&reply_to(&ch, &[("Response", "Error")]), t0);
    let login = sent(&mut c).remove(0);
    assert_eq!(login.get("Secret"), Some("wordpass"));
    // Plain: no challenge at all.
    let mut c = open(t0);
    c.login("admin", &"wordpass".into(), AuthMethod::Plain, "plain", t0)
        .unwrap();
    let login = sent(&mut c).remove(0);
    assert_eq!(login.get("Action"), Some("Login"));
    assert_eq!(login.get("Secret"), Some("wordpass"));
    c.feed(
        &reply_to(
            &login,
            &[("Response", "Error"), ("Message", "Authentication failed")],
        ),
        t0,
    );
    assert!(matches!(
        outputs(&mut c).as_slice(),
        [Output::Reply { result: Err(AmiError::Authentication { message }), .. }]
            if message == "Authentication failed"
    ));
}

#[test]
fn a_hand_written_login_refused_is_an_authentication_error() {
    let t0 = Instant::now();
    let mut c = open(t0);
    c.send(&Challenge, "challenge", t0).unwrap();
    let ch = sent(&mut c).remove(0);
    c.feed(
        &reply_to(&ch, &[("Response", "Success"), ("Challenge", "1")]),
        t0,
    );
    c.send(&Login::md5("admin", "wrong"), "login", t0).unwrap();
    let login = sent(&mut c).remove(0);
    c.feed(
        &reply_to(
            &login,
            &[("Response", "Error"), ("Message", "Authentication failed")],
        ),
        t0,
    );
    let out = outputs(&mut c);
    assert!(matches!(
        &out[0],
        Output::Reply {
            tag: "challenge",
            result: Ok(_),
            ..
        }
    ));
    assert!(
        matches!(
            &out[1],
            Output::Reply {
                tag: "login",
                result: Err(AmiError::Authentication { .. }),
                ..
            }
        ),
        "{out:?}"
    );
}

#[test]
fn actions_time_out_by_the_clock_and_a_partial_list_is_not_lost() {
    let t0 = Instant::now();
    let mut c = open(t0);
    c.set_action_timeout(Duration::from_secs(2));
    c.send(&Ping, "ping", t0).unwrap();
    c.send(&QueueStatus::default(), "list", t0).unwrap();
    let msgs = sent(&mut c);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    c.feed(
        &reply_to(&msgs[1], &[("Response", "Success"), ("EventList", "start")]),
        t0,
    );
    c.feed(
        &reply_to(&msgs[1], &[("Event", "QueueParams"), ("Queue", "support")]),
        t0,
    );
    c.handle_timeout(t0 + Duration::from_millis(1999));
    assert!(outputs(&mut c).is_empty());
    c.handle_timeout(t0 + Duration::from_secs(2));
    let out = outputs(&mut c);
    assert_eq!(out.len(), 4, "{out:?}");
    let orphans = out
        .iter()
        .filter(|o| matches!(o, Output::Orphan(_)))
        .count();
    assert_eq!(orphans, 2, "the list's response and its one event");
    for tag in ["ping", "list"] {
        assert!(out.iter().any(|o| matches!(o,
            Output::Reply { tag: t, result: Err(AmiError::Timeout { after, .. }), .. }
                if *t == tag && *after == Duration::from_secs(2))));
    }
    assert_eq!(c.poll_timeout(), None);
    // A late reply is an orphan.
    c.feed(&reply_to(&msgs[0], &[("Response", "Success")]), t0);
    assert!(matches!(outputs(&mut c).as_slice(), [Output::Orphan(_)]));
}

#[test]
fn keepalive_pings_on_time_and_asks_to_close_when_unanswered() {
    let t0 = Instant::now();
    let mut c: Connection<&str> = Connection::new();
    c.set_keepalive(Some(Duration::from_secs(5)));
    c.set_action_timeout(Duration::from_secs(1));
    c.feed(BANNER, t0);
    outputs(&mut c);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    c.handle_timeout(t0 + Duration::from_secs(4));
    assert!(sent(&mut c).is_empty());
    let t5 = t0 + Duration::from_secs(5);
    c.handle_timeout(t5);
    let ping = sent(&mut c).remove(0);
    assert_eq!(ping.get("Action"), Some("Ping"));
    // Answered: the next one is due an interval after the answer.
    let t6 = t5 + Duration::from_millis(500);
    c.feed(
        &reply_to(&ping, &[("Response", "Success"), ("Ping", "Pong")]),
        t6,
    );
    assert!(
        outputs(&mut c).is_empty(),
        "the keepalive's reply is its own"
    );
    assert_eq!(c.poll_timeout(), Some(t6 + Duration::from_secs(5)));
    // Unanswered: a close with the keepalive's reason.
    let t11 = t6 + Duration::from_secs(5);
    c.handle_timeout(t11);
    assert_eq!(sent(&mut c).len(), 1);
    c.handle_timeout(t11 + Duration::from_secs(1));
    assert!(matches!(
        outputs(&mut c).as_slice(),
        [Output::Close(AmiError::Disconnected(
            DisconnectReason::KeepaliveTimeout
        ))]
    ));
    c.connection_lost(DisconnectReason::Eof);
    assert!(matches!(
        outputs(&mut c).as_slice(),
        [Output::Lost(DisconnectReason::KeepaliveTimeout)]
    ));
}

/// Asterisk before 13 answered list actions without `EventList: start`.
#[test]
fn lists_of_asterisk_before_13_are_collected() {
    let t0 = Instant::now();
    let mut c = open(t0);
    let id = c.send(&QueueStatus::default(), "q", t0).unwrap();
    let _ = sent(&mut c);
    let legacy = format!(
        "Response: Success\r\nActionID: {id}\r\nMessage: Queue status will follow\r\n\r\n\
         Event: QueueParams\r\nQueue: support\r\nActionID: {id}\r\n\r\n\
         Event: QueueMember\r\nQueue: support\r\nName: Local/1000@test\r\nActionID: {id}\r\n\r\n\
         Event: QueueStatusComplete\r\nActionID: {id}\r\n\r\n"
    );
    c.feed(legacy.as_bytes(), t0);
    let out = outputs(&mut c);
    let [Output::Reply { result: Ok(r), .. }] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(r.events.len(), 2);
    assert_eq!(
        r.complete.as_ref().and_then(|m| m.event_name()),
        Some("QueueStatusComplete")
    );
    // DBGet before 13: one DBGetResponse, no closing event.
    let dbget = RawAction::new("DBGet")
        .header("Family", "f")
        .header("Key", "k")
        .list();
    let id = c.send(&dbget, "db", t0).unwrap();
    let legacy = format!(
        "Response: Success\r\nActionID: {id}\r\nMessage: Result will follow\r\n\r\n\
         Event: DBGetResponse\r\nFamily: f\r\nKey: k\r\nVal: v\r\nActionID: {id}\r\n\r\n"
    );
    c.feed(legacy.as_bytes(), t0);
    let out = outputs(&mut c);
    let [Output::Reply { result: Ok(r), .. }] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].get("Val"), Some("v"));
}

#[test]
fn a_lost_connection_fails_every_action_and_keeps_their_partial_lists() {
    let t0 = Instant::now();
    let mut c = open(t0);
    c.send(&Ping, "ping", t0).unwrap();
    let id = c.send(&QueueStatus::default(), "list", t0).unwrap();
    let _ = sent(&mut c);
    let part = format!(
        "Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\n\
         Event: QueueParams\r\nActionID: {id}\r\n\r\nEvent: Cut"
    );
    c.feed(part.as_bytes(), t0);
    c.connection_lost(DisconnectReason::Eof);
    let out = outputs(&mut c);
    let replies = out
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Reply {
                    result: Err(AmiError::Disconnected(_)),
                    ..
                }
            )
        })
        .count();
    let orphans = out
        .iter()
        .filter(|o| matches!(o, Output::Orphan(_)))
        .count();
    assert_eq!((replies, orphans), (2, 2), "{out:?}");
    assert!(
        out.iter().any(|o| matches!(o, Output::ProtocolError(_))),
        "the cut message"
    );
    assert!(matches!(
        out.last(),
        Some(Output::Lost(DisconnectReason::Eof))
    ));
}

#[test]
fn mixed_actions_in_one_collection() {
    // Any action, typed or raw, as one boxed form.
    let actions: Vec<RawAction> = vec![
        RawAction::from_action(&Ping),
        RawAction::from_action(&QueueStatus::default()),
        RawAction::new("Command").header("Command", "core show uptime"),
    ];
    let t0 = Instant::now();
    let mut c = open(t0);
    for a in &actions {
        c.send(a, "mixed", t0).unwrap();
    }
    let names: Vec<String> = sent(&mut c)
        .iter()
        .map(|m| m.get("Action").unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Ping", "QueueStatus", "Command"]);
    assert!(actions[1].expects_list());
}

#[test]
fn bad_banner_asks_for_a_close() {
    let mut c: Connection = Connection::new();
    c.feed(b"HTTP/1.1 400 Bad Request\r\n", Instant::now());
    assert!(matches!(
        c.poll_output(),
        Some(Output::Close(AmiError::BadBanner(_)))
    ));
    // The transport's own reason stands (a `Closed` would stop a reconnect
    // policy from trying again).
    c.connection_lost(DisconnectReason::Eof);
    assert!(matches!(
        c.poll_output(),
        Some(Output::Lost(DisconnectReason::Eof))
    ));
}
