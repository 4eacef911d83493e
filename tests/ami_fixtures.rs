//! Every AMI recording of a real Asterisk 22, decoded whole and split at
//! every position, and replayed through a `Manager` over loopback.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::{Action, AmiError, Manager, Message};
use common::{fixture, recorded_actions, replay_server, AMI_RECORDINGS};

fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Frame> {
    let mut d = Decoder::new();
    let mut frames = Vec::new();
    for c in chunks {
        d.feed(c);
        loop {
            match d.decode() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => panic!("recorded Asterisk output refused: {e}"),
            }
        }
    }
    assert_eq!(d.buffered(), 0, "bytes left over");
    frames
}

fn wire(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        match f {
            Frame::Banner(v) => {
                out.extend_from_slice(format!("Asterisk Call Manager/{v}\r\n").as_bytes())
            }
            Frame::Message(m) => m.write_wire(&mut out),
        }
    }
    out
}

#[test]
fn every_recording_decodes_without_losing_a_byte() {
    for name in AMI_RECORDINGS {
        let bin = fixture(&format!("{name}.bin"));
        let frames = decode_chunks([bin.as_slice()]);
        assert!(
            matches!(frames[0], Frame::Banner(ref v) if v == "11.0.0"),
            "{name}"
        );
        // Asterisk writes `Name: value\r\n`, so re-encoding gives the
        // recording back exactly: every header, in order, kept.
        assert_eq!(wire(&frames), bin, "{name}: re-encoded stream differs");
    }
}

#[test]
fn every_split_point_gives_the_same_messages() {
    for name in AMI_RECORDINGS {
        let bin = fixture(&format!("{name}.bin"));
        let whole = decode_chunks([bin.as_slice()]);
        // Every two-way split.
        for p in 0..=bin.len() {
            let (a, b) = bin.split_at(p);
            assert_eq!(decode_chunks([a, b]), whole, "{name} split at {p}");
        }
        // One byte at a time.
        assert_eq!(decode_chunks(bin.chunks(1)), whole, "{name} byte by byte");
        // Pseudo-random chunk sizes.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut chunks = Vec::new();
        let mut rest = bin.as_slice();
        while !rest.is_empty() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = (seed % 97 + 1) as usize;
            let (a, b) = rest.split_at(n.min(rest.len()));
            chunks.push(a);
            rest = b;
        }
        assert_eq!(decode_chunks(chunks), whole, "{name} random chunks");
    }
}

#[test]
fn recorded_facts_hold() {
    let frames = decode_chunks([fixture("ami_actions.bin").as_slice()]);
    let msgs: Vec<&Message> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    // OriginateResponse carries Response: but is an event.
    let o = msgs
        .iter()
        .find(|m| m.event_name() == Some("OriginateResponse"))
        .unwrap();
    assert!(o.is_event() && o.response() == Some("Success"));
    // Repeated ChanVariable headers are all kept, in order, empty values too.
    let h = msgs
        .iter()
        .find(|m| m.event_name() == Some("Hangup"))
        .unwrap();
    assert_eq!(
        h.get_all("ChanVariable").collect::<Vec<_>>(),
        ["ASTRIX_TAG=set by ami", "ASTRIX_LONG="]
    );
    // Command output: one Output header per line, empty lines included.
    let cmd = msgs
        .iter()
        .find(|m| m.action_id() == Some("astrix-008"))
        .unwrap();
    let out: Vec<&str> = cmd.get_all("output").collect();
    assert!(out.len() > 5 && out.contains(&""), "{out:?}");
}

#[test]
fn manager_replays_recorded_sessions() {
    for name in [
        "ami_actions",
        "ami_catalogue",
        "ami_login_md5",
        "ami_login_plain",
        "asyncagi_over_ami",
    ] {
        let (addr, server) = replay_server(name);
        let m = Manager::builder(addr)
            .action_timeout(Duration::from_secs(5))
            .connect()
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let e2 = events.clone();
        m.on_any_event(move |e| e2.lock().unwrap().push(e.clone()));
        let orphans = Arc::new(Mutex::new(0));
        let o2 = orphans.clone();
        m.on_orphan(move |_| *o2.lock().unwrap() += 1);
        let mut replies = 0;
        let mut list_events = 0;
        for a in recorded_actions(name) {
            let id = a.headers().action_id().unwrap().to_owned();
            match m.send_action(&a) {
                Ok(r) => {
                    assert_eq!(
                        r.action_id(),
                        Some(id.as_str()),
                        "{name}: caller-set ActionID kept"
                    );
                    list_events += r.events.len() + r.complete.iter().count();
                    replies += 1;
                }
                Err(AmiError::ActionFailed(r)) => {
                    assert_eq!(r.action_id(), Some(id.as_str()));
                    replies += 1;
                }
                Err(AmiError::Disconnected(_)) if a.name() == "Logoff" => replies += 1,
                Err(e) => panic!("{name}: {} failed: {e}", a.name()),
            }
        }
        m.close();
        server.join().unwrap();
        // Every message of the recording reached a caller or a callback.
        let frames = decode_chunks([fixture(&format!("{name}.bin")).as_slice()]);
        let total = frames.len() - 1;
        let seen = replies + list_events + events.lock().unwrap().len() + *orphans.lock().unwrap();
        assert_eq!(seen, total, "{name}: messages lost or duplicated");
    }
}

#[test]
fn refused_login_reply_then_close() {
    let (addr, server) = replay_server("ami_login_plain_fail");
    let m = Manager::connect(addr).unwrap();
    let login = recorded_actions("ami_login_plain_fail").remove(0);
    // A hand-written Login's refusal is the same typed error as login()'s.
    let err = m.send_action(&login).unwrap_err();
    assert!(
        matches!(&err, AmiError::Authentication { message } if message == "Authentication failed"),
        "{err:?}"
    );
    server.join().unwrap();
    // Asterisk closes after a refused login.
    for _ in 0..100 {
        if !m.is_connected() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(matches!(
        m.disconnect_reason(),
        Some(astrix::ami::DisconnectReason::Eof)
    ));
}
