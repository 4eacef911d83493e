//! Fuzzing the AMI decoder on stable Rust: arbitrary bytes in arbitrary
//! chunks and mutations of the recorded Asterisk 22 sessions, with and
//! without the banner, under small and default [`Limits`]. Every decoded
//! message also goes through every typed event parser.
//!
//! Properties: no panic; no decoded message (or refused message's partial
//! headers) past `max_headers` or `max_message_len`; the buffer stays
//! bounded; splitting the input anywhere gives the same frames and errors;
//! re-encoding decoded messages and decoding again gives them back.
//!
//! `cargo test --test fuzz_ami` runs a short seeded run;
//! `ASTRIX_FUZZ_CASES=1000000 cargo test --release --test fuzz_ami -- --nocapture`
//! a long one.

mod common;

use astrix::ami::codec::{encode_message, DecodeError, Decoder, Frame, Limits};
use astrix::ami::events::{parse_event, NAMES};
use astrix::ami::Message;
use common::mutate::{self, cases, Rng};
use proptest::prelude::*;

const FIXTURES: &[&[u8]] = &[
    include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22/ami_actions.bin"
    )),
    include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22/ami_login_md5.bin"
    )),
    include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22/ami_login_plain.bin"
    )),
    include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22/ami_login_plain_fail.bin"
    )),
    include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22/asyncagi_over_ami.bin"
    )),
];

const SMALL: Limits = Limits {
    max_line_len: 64,
    max_message_len: 512,
    max_headers: 12,
};

const TINY: Limits = Limits {
    max_line_len: 8,
    max_message_len: 24,
    max_headers: 3,
};

/// What one decode of a stream gave.
type Outcome = Vec<Result<Frame, DecodeError>>;

/// The most a decoder may hold once it has answered `Ok(None)`: one
/// message (its counted bytes, plus a line ending per line) and one
/// partial line.
fn bound(l: Limits) -> usize {
    2 * l.max_message_len + 2 * l.max_headers + l.max_line_len + 64
}

/// Checks one message against the limits.
fn check_message(m: &Message, l: Limits, what: &str) {
    assert!(
        m.len() <= l.max_headers,
        "{what}: {} headers > {}",
        m.len(),
        l.max_headers
    );
    let wire: usize = (0..m.len())
        .map(|i| m.value_bytes(i).unwrap().len())
        .sum::<usize>()
        + m.iter()
            .filter(|(n, _)| n.is_ascii())
            .map(|(n, _)| n.len())
            .sum::<usize>();
    assert!(
        wire <= l.max_message_len,
        "{what}: {wire} bytes > {}",
        l.max_message_len
    );
    // Non-UTF-8 bytes are widened (Latin-1, or U+FFFD in names): at most 3x.
    assert!(
        m.text_len() <= 3 * l.max_message_len,
        "{what}: text too long"
    );
    for i in 0..m.len() {
        let v = m.value_bytes(i).unwrap();
        assert!(v.len() <= l.max_line_len, "{what}: line past max_line_len");
    }
}

/// Every typed event parser on `m`: the one its `Event:` names, then a few
/// others picked at random.
fn parse_events(m: &Message, rng: &mut Rng, extra: usize) {
    if let Some(r) = parse_event(m) {
        let _ = format!("{r:?}");
    }
    for _ in 0..extra {
        let mut m = m.clone();
        let name = *rng.pick(NAMES);
        m.set("Event", name);
        if let Some(r) = parse_event(&m) {
            let _ = format!("{r:?}");
        }
    }
}

/// Decodes `chunks`, checking the limits and the buffer bound on the way.
fn decode(mut d: Decoder, chunks: &[&[u8]], finish: bool) -> Outcome {
    let l = d.limits();
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c);
        assert!(d.buffered() <= bound(l) + c.len(), "buffer past its bound");
        loop {
            match d.decode() {
                Ok(Some(f)) => out.push(Ok(f)),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
            // An error or a frame always consumes; never loops for ever.
            assert!(out.len() <= 4 * 1024 * 1024, "decoder does not progress");
        }
        assert!(
            d.buffered() <= bound(l),
            "buffered {} > bound {} with {l:?}",
            d.buffered(),
            bound(l)
        );
    }
    if finish {
        if let Err(e) = d.finish() {
            out.push(Err(e));
        }
        assert_eq!(d.buffered(), 0);
    }
    for r in &out {
        match r {
            Ok(Frame::Message(m)) => check_message(m, l, "message"),
            Ok(Frame::Banner(b)) => assert!(b.len() <= 3 * l.max_line_len),
            Err(e) => {
                if let Some(p) = e.partial() {
                    check_message(p, l, "partial");
                }
                let _ = e.to_string();
            }
        }
    }
    out
}

fn decoder(banner: bool, l: Limits) -> Decoder {
    if banner {
        Decoder::with_limits(l)
    } else {
        Decoder::without_banner(l)
    }
}

fn is_follows(m: &Message) -> bool {
    m.header(0).is_some_and(|(n, v)| {
        n.eq_ignore_ascii_case("Response")
            && v.trim_matches([' ', '\t']).eq_ignore_ascii_case("Follows")
    })
}

/// The oracle: each encodable message decodes back to itself.
fn reencode(out: &[Result<Frame, DecodeError>], l: Limits) {
    for r in out {
        let Ok(Frame::Message(m)) = r else { continue };
        if is_follows(m) {
            continue;
        }
        let mut wire = Vec::new();
        if encode_message(m, &mut wire).is_err() {
            continue;
        }
        // Latin-1 values widen on re-encoding: allow the room.
        let big = Limits {
            max_line_len: 4 * l.max_line_len,
            max_message_len: 4 * l.max_message_len + 4 * l.max_headers,
            max_headers: l.max_headers,
        };
        let again = decode(Decoder::without_banner(big), &[&wire], true);
        assert_eq!(again.len(), 1, "{m:?} re-decoded as {again:?}");
        match &again[0] {
            Ok(Frame::Message(m2)) => {
                let a: Vec<_> = m.iter().collect();
                let b: Vec<_> = m2.iter().collect();
                assert_eq!(a, b, "re-encoding changed the message");
            }
            other => panic!("{m:?} re-decoded as {other:?}"),
        }
    }
}

/// One fuzz case: a mutated or arbitrary stream, decoded whole and in
/// random chunks under random limits.
fn case(rng: &mut Rng, thorough: bool) {
    let data = mutate::input(rng, FIXTURES, 4096, 16 * 1024);
    let banner = rng.one_in(2);
    let l = *rng.pick(&[SMALL, TINY, Limits::default(), SMALL]);
    let whole = decode(decoder(banner, l), &[&data], true);
    let most = if rng.one_in(4) { 64 } else { 4 };
    let cuts = rng.cuts(data.len(), most);
    let parts = mutate::split(&data, &cuts);
    let split = decode(decoder(banner, l), &parts, true);
    assert_eq!(whole, split, "splitting at {cuts:?} changed the frames");
    if thorough || rng.one_in(8) {
        reencode(&whole, l);
        for r in &whole {
            match r {
                Ok(Frame::Message(m)) => parse_events(m, rng, 2),
                Err(e) => {
                    if let Some(p) = e.partial() {
                        parse_events(p, rng, 0);
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn fuzz_ami_decoder_mutations() {
    let n = cases(12_000);
    mutate::run("ami decoder", 0xA11, n, |rng| {
        case(rng, !mutate::long_run())
    });
}

#[test]
fn unmutated_fixtures_split_anywhere_decode_the_same() {
    let n = cases(300).min(200_000);
    for (k, fx) in FIXTURES.iter().enumerate() {
        let whole = decode(Decoder::new(), &[fx], true);
        assert!(whole.iter().all(|r| r.is_ok()), "fixture {k}: {whole:?}");
        reencode(&whole, Limits::default());
        let mut rng = Rng::new(k as u64);
        for r in &whole {
            if let Ok(Frame::Message(m)) = r {
                parse_events(m, &mut rng, 0);
            }
        }
        mutate::run("ami fixture split", k as u64, n / FIXTURES.len(), |rng| {
            let at = rng.range(0, fx.len());
            let (a, b) = fx.split_at(at);
            assert_eq!(
                decode(Decoder::new(), &[a, b], true),
                whole,
                "split at {at}"
            );
        });
    }
}

#[test]
fn every_event_parser_on_every_fixture_message() {
    let mut rng = Rng::new(7);
    for fx in FIXTURES {
        for r in decode(Decoder::new(), &[fx], true) {
            let Ok(Frame::Message(m)) = r else { continue };
            for name in NAMES {
                let mut m = m.clone();
                m.set("Event", name);
                let _ = parse_event(&m);
                // And with every value garbled.
                let mut g = Message::new();
                for (n, v) in m.iter() {
                    let v = if n == "Event" {
                        v.to_owned()
                    } else {
                        String::from_utf8_lossy(&mutate::mutate(&mut rng, v.as_bytes(), &[], 64))
                            .replace(['\r', '\n'], "")
                    };
                    g.push(n, &v);
                }
                let _ = parse_event(&g);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256).min(20_000) as u32))]

    #[test]
    fn arbitrary_bytes_in_arbitrary_chunks(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        banner in any::<bool>(),
        small in any::<bool>(),
    ) {
        let l = if small { TINY } else { Limits::default() };
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
        points.sort_unstable();
        let parts = mutate::split(&data, &points);
        let whole = decode(decoder(banner, l), &[&data], true);
        prop_assert_eq!(decode(decoder(banner, l), &parts, true), whole);
    }

    #[test]
    fn arbitrary_lines_in_arbitrary_chunks(
        lines in prop::collection::vec(
            prop::sample::select(vec![
                &b"Event: X"[..], b"A: 1", b"", b"garbage", b"Response: Follows",
                b"--END COMMAND--", b"Output line", b":", b"x:", b" : y",
                b"Asterisk Call Manager/6.0.0", b"\xff: \xfe", b"Long: aaaaaaaaaaaaaaaaaaaaaaa",
            ]),
            0..64,
        ),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        banner in any::<bool>(),
    ) {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let data: Vec<u8> = lines.iter().flat_map(|l| l.iter().chain(eol)).copied().collect();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
        points.sort_unstable();
        let parts = mutate::split(&data, &points);
        for l in [TINY, SMALL] {
            let whole = decode(decoder(banner, l), &[&data], true);
            prop_assert_eq!(decode(decoder(banner, l), &parts, true), whole.clone());
            reencode(&whole, l);
        }
    }
}

/// Lines without a colon kept piling up in the buffer: nothing counted
/// them against `max_message_len`, so a peer sending `x\n` for ever made
/// the decoder grow without bound.
#[test]
fn regression_colonless_lines_are_bounded() {
    let l = SMALL;
    let mut d = Decoder::without_banner(l);
    d.feed(b"Event: X\r\n");
    for _ in 0..10_000 {
        d.feed(b"garbage\r\n");
        while let Ok(Some(_)) | Err(_) = d.decode() {}
        assert!(d.buffered() <= bound(l), "buffered {}", d.buffered());
    }
    let out = decode(d, &[b"\r\nEvent: Y\r\n\r\n"], false);
    assert!(
        matches!(out.last(), Some(Ok(Frame::Message(m))) if m.event_name() == Some("Y")),
        "{out:?}"
    );
}

/// A header right after legacy command output (`--END COMMAND--` without
/// its blank line) left the decoder swallowing the next blank line as the
/// output's: it moved the message start under the lines already read, and
/// the next message was read out of bounds (a panic) or garbled.
#[test]
fn regression_header_right_after_command_output() {
    let data: &[u8] =
        b"Response: Follows\n--END COMMAND--\nLong: aaa\n\n\nResponse: Follows\nX: y\n--END COMMAND--\n\nEvent: X\n\nEvent: Y\n\n";
    let whole = decode(Decoder::without_banner(SMALL), &[data], true);
    assert!(
        matches!(&whole[1], Ok(Frame::Message(m)) if m.get("Long") == Some("aaa") && m.len() == 1),
        "{whole:?}"
    );
    assert_eq!(whole.len(), 5, "{whole:?}");
    for at in 0..=data.len() {
        let (a, b) = data.split_at(at);
        assert_eq!(
            decode(Decoder::without_banner(SMALL), &[a, b], true),
            whole,
            "split at {at}"
        );
    }
}

/// A header name that was not UTF-8 was neither trimmed nor kept whole
/// (cut at 200 bytes) when the message took the slow path, unlike the
/// same name in an all-UTF-8 message.
#[test]
fn regression_non_utf8_header_name_is_trimmed() {
    let mut d = Decoder::without_banner(Limits::default());
    d.feed(b" \xff\tName \t: v\r\n\r\n");
    let Ok(Some(Frame::Message(m))) = d.decode() else {
        panic!()
    };
    assert_eq!(m.header(0), Some(("\u{FFFD}\tName", "v")));
    let long = [b'\xff'; 300];
    let mut d = Decoder::without_banner(Limits::default());
    d.feed(&long);
    d.feed(b": v\r\n\r\n");
    let Ok(Some(Frame::Message(m))) = d.decode() else {
        panic!()
    };
    assert_eq!(m.header(0).unwrap().0.chars().count(), 300);
    reencode(&[Ok(Frame::Message(m))], Limits::default());
}
