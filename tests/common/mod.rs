//! Shared helpers for the integration tests: fixture paths and the
//! recorded transcripts of `tests/data/asterisk-22/*.txt`.
#![allow(dead_code)]

pub mod mutate;
#[cfg(feature = "tls")]
pub mod tls;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::RawAction;

/// The folder of the recordings of a real Asterisk 22.
pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22"
    ))
}

/// Raises this process's soft limit on open files to its hard limit where
/// the system allows it, and returns the soft limit in force afterwards
/// (`u64::MAX` for unlimited). Tests that open many sockets size
/// themselves from it, so that they pass under `ulimit -n 1024` too.
#[cfg(unix)]
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the plain struct
    // passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    #[allow(clippy::useless_conversion)] // rlim_t is not u64 on every unix
    u64::try_from(lim.rlim_cur).unwrap_or(u64::MAX)
}

/// Where there is no `setrlimit`: assume the common default.
#[cfg(not(unix))]
pub fn raise_fd_limit() -> u64 {
    1024
}

/// The bytes of a fixture file.
pub fn fixture(name: &str) -> Vec<u8> {
    let p = fixtures().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// How many threads of this process have a name starting with `prefix`
/// (`astrix-ami-`, `astrix-ari-`…; Linux keeps the first 15 bytes of a
/// name). 0 where `/proc` has no task list.
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_to_string(e.path().join("comm"))
                        .is_ok_and(|c| c.starts_with(prefix))
                })
                .count()
        })
        .unwrap_or(0)
}

/// Who sent a segment of a transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Asterisk.
    Server,
    /// The recording client.
    Client,
}

/// Un-escapes one transcript line (`\r`, `\n`, `\\`, `\xNN`).
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                    continue;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The transcript as segments: consecutive lines of one side joined.
pub fn transcript(name: &str) -> Vec<(Side, Vec<u8>)> {
    let text = String::from_utf8(fixture(name)).unwrap();
    let mut segs: Vec<(Side, Vec<u8>)> = Vec::new();
    for line in text.lines() {
        let (side, rest) = if let Some(r) = line.strip_prefix("S: ") {
            (Side::Server, r)
        } else if let Some(r) = line.strip_prefix("C: ") {
            (Side::Client, r)
        } else {
            continue;
        };
        let bytes = unescape(rest);
        match segs.last_mut() {
            Some((s, b)) if *s == side => b.extend_from_slice(&bytes),
            _ => segs.push((side, bytes)),
        }
    }
    segs
}

/// The AMI recordings (Asterisk's side is in `NAME.bin`).
pub const AMI_RECORDINGS: [&str; 6] = [
    "ami_actions",
    "ami_catalogue",
    "ami_login_md5",
    "ami_login_plain",
    "ami_login_plain_fail",
    "asyncagi_over_ami",
];

/// A server that plays the recorded Asterisk side: the banner, then after
/// each recorded client message the bytes Asterisk sent next.
pub fn replay_server(name: &str) -> (String, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let segs = transcript(&format!("{name}.txt"));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut received = Vec::new();
        let mut buf = Vec::new();
        for (side, bytes) in segs {
            match side {
                Side::Server => s.write_all(&bytes).unwrap(),
                Side::Client => {
                    // Wait for the client's message(s) of this segment.
                    let want = bytes.windows(4).filter(|w| w == b"\r\n\r\n").count();
                    while buf.windows(4).filter(|w| w == b"\r\n\r\n").count() < want {
                        let mut chunk = [0u8; 4096];
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => return received,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    received.push(std::mem::take(&mut buf));
                }
            }
        }
        received
    });
    (addr, h)
}

/// The client's recorded actions, as raw actions with their ActionIDs.
pub fn recorded_actions(name: &str) -> Vec<RawAction> {
    let mut out = Vec::new();
    for (side, bytes) in transcript(&format!("{name}.txt")) {
        if side != Side::Client {
            continue;
        }
        let mut d = Decoder::without_banner(Default::default());
        d.feed(&bytes);
        while let Ok(Some(Frame::Message(m))) = d.decode() {
            let mut a = RawAction::new(m.get("Action").unwrap());
            for (n, v) in m.iter().skip(1) {
                a.push(n, v);
            }
            out.push(a);
        }
    }
    out
}
