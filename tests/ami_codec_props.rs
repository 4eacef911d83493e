//! Property tests for the AMI codec against a naive oracle.

use astrix::ami::codec::{encode_message, Decoder, Frame, Limits};
use astrix::ami::Message;
use proptest::prelude::*;

/// The obviously right reading of a stream of well-formed messages: split
/// on blank lines, then each line at its first colon.
fn oracle(stream: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for line in stream.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let (n, v) = line.split_once(':').unwrap();
        cur.push((
            n.trim().to_owned(),
            v.strip_prefix(' ').unwrap_or(v).to_owned(),
        ));
    }
    out
}

fn decode(chunks: &[&[u8]]) -> Vec<Vec<(String, String)>> {
    let mut d = Decoder::without_banner(Limits::default());
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c);
        while let Some(f) = d.decode().expect("valid stream") {
            if let Frame::Message(m) = f {
                out.push(
                    m.iter()
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect(),
                );
            }
        }
    }
    out
}

fn header() -> impl Strategy<Value = (String, String)> {
    (
        "[A-Za-z][A-Za-z0-9_()/;@.-]{0,15}",
        "[ -~]{0,40}".prop_filter("no Follows", |v| !v.trim().eq_ignore_ascii_case("follows")),
    )
}

fn stream() -> impl Strategy<Value = (String, Vec<Vec<(String, String)>>)> {
    prop::collection::vec(
        (prop::collection::vec(header(), 1..12), any::<bool>()),
        1..8,
    )
    .prop_map(|msgs| {
        let mut s = String::new();
        for (hs, crlf) in &msgs {
            let eol = if *crlf { "\r\n" } else { "\n" };
            for (n, v) in hs {
                s.push_str(&format!("{n}: {v}{eol}"));
            }
            s.push_str(eol);
        }
        (s, msgs.into_iter().map(|(h, _)| h).collect())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_split_gives_the_oracles_messages((s, _) in stream(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let bytes = s.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&bytes[last..p]);
            last = p;
        }
        chunks.push(&bytes[last..]);
        let expected = oracle(&s);
        prop_assert_eq!(decode(&chunks), expected.clone());
        prop_assert_eq!(decode(&[bytes]), expected);
    }

    #[test]
    fn encode_then_decode_round_trips((_, msgs) in stream()) {
        let mut wire = Vec::new();
        for hs in &msgs {
            let m: Message = hs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            encode_message(&m, &mut wire).unwrap();
        }
        let want: Vec<Vec<(String, String)>> = msgs
            .iter()
            .map(|hs| hs.iter().map(|(n, v)| (n.clone(), v.clone())).collect())
            .collect();
        prop_assert_eq!(decode(&[&wire]), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_memory_stays_bounded(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..20),
        banner in any::<bool>(),
    ) {
        let limits = Limits { max_line_len: 100, max_message_len: 400, max_headers: 10 };
        let mut d = if banner { Decoder::with_limits(limits) } else { Decoder::without_banner(limits) };
        for c in &chunks {
            d.feed(c);
            for _ in 0..10_000 {
                match d.decode() {
                    Ok(None) => break,
                    Ok(Some(Frame::Message(m))) => prop_assert!(m.len() <= 10),
                    Ok(Some(Frame::Banner(_))) | Err(_) => {}
                }
            }
            // Whatever is buffered is one unfinished message at most.
            prop_assert!(d.buffered() <= 400 + 2 * 101 + 600, "buffered {}", d.buffered());
        }
    }

    #[test]
    fn values_with_cr_or_lf_are_refused(v in "[ -~]{0,10}[\r\n][ -~]{0,10}") {
        let m = Message::new().with("Action", "Setvar").with("Value", &v);
        let mut out = Vec::new();
        prop_assert!(encode_message(&m, &mut out).is_err());
        prop_assert!(out.is_empty());
    }
}

/// An empty header as Asterisk 11 sends it (`AccountCode:` and nothing
/// after the colon) comes back as it came, through both decoding paths
/// (all UTF-8; a Latin-1 value, which goes through the general one).
#[test]
fn values_come_back_as_they_came() {
    for event in [
        &b"Event: Newchannel\r\nChannel: SIP/100-00000001\r\nAccountCode:\r\nUniqueid: 1.1\r\n\r\n"
            [..],
        b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\nAccountCode:\r\nExten:  two spaces\r\n\r\n",
    ] {
        let mut d = Decoder::without_banner(Limits::default());
        d.feed(event);
        let Ok(Some(Frame::Message(m))) = d.decode() else {
            panic!("{event:?}")
        };
        assert_eq!(m.get("AccountCode"), Some(""));
        let mut wire = Vec::new();
        m.write_wire(&mut wire);
        assert_eq!(wire, event, "{m:?}");
        let shown = m.to_string();
        assert!(shown.contains("\nAccountCode:\n"), "{shown:?}");
        // Headers a program sets are written `Name: value`.
        let mut m = m;
        m.set("AccountCode", "x");
        let mut wire = Vec::new();
        m.write_wire(&mut wire);
        assert!(
            wire.windows(16).any(|w| w == b"\r\nAccountCode: x"),
            "{m:?}"
        );
    }
}
