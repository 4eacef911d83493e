//! A bare AMI client for the scenarios: it writes actions as given, keeps
//! every message in wire order and picks out the scenario's own events.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::Message;
use parking_lot::{Condvar, Mutex};

use super::normalise::{is_bridge, Normaliser};

/// How long a scenario waits for an answer or an event.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One line of the exchange, in wire order.
#[derive(Clone, Debug)]
enum Line {
    Banner(String),
    Sent(Message),
    Got(Message),
    Closed,
}

#[derive(Default)]
struct Log {
    lines: Vec<Line>,
    closed: bool,
}

/// A connection to an AMI server (the emulator or Asterisk).
pub struct Ami {
    stream: TcpStream,
    log: Arc<(Mutex<Log>, Condvar)>,
    tag: String,
    next: u32,
    /// Whether the scenario's caller ids, connected lines and bridge
    /// leaves race (see [`Ami::racing`]).
    racing: bool,
}

impl Ami {
    /// Connects to `addr`; `tag` starts every ActionID and ChannelId the
    /// scenario sends, so that its events can be told from others'.
    pub fn connect(addr: &str, tag: &str) -> Ami {
        let stream = TcpStream::connect(addr).expect("connect to AMI");
        let mut reader = stream.try_clone().expect("clone socket");
        let log: Arc<(Mutex<Log>, Condvar)> = Arc::default();
        let l = log.clone();
        thread::spawn(move || {
            let mut dec = Decoder::new();
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                dec.feed(&buf[..n]);
                while let Ok(Some(frame)) = dec.decode() {
                    let line = match frame {
                        Frame::Banner(b) => Line::Banner(b.to_string()),
                        Frame::Message(m) => Line::Got(m),
                    };
                    l.0.lock().lines.push(line);
                    l.1.notify_all();
                }
            }
            let mut g = l.0.lock();
            g.lines.push(Line::Closed);
            g.closed = true;
            l.1.notify_all();
        });
        let ami = Ami {
            stream,
            log,
            tag: tag.to_owned(),
            next: 0,
            racing: false,
        };
        ami.wait_banner();
        ami
    }

    /// Waits for the greeting line (or the end of the connection).
    fn wait_banner(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut g = self.log.0.lock();
        while !g.closed && !g.lines.iter().any(|l| matches!(l, Line::Banner(_))) {
            if self.log.1.wait_until(&mut g, deadline).timed_out() {
                return;
            }
        }
    }

    /// For a transfer: Asterisk updates caller ids and connected lines
    /// with frames each channel's thread handles, and the transferer and
    /// the transferee leave a bridge from two threads, so their order
    /// races. The transcript leaves out every `…CallerID…` and
    /// `…ConnectedLine…` header and lists each run of `BridgeLeave`s
    /// sorted, without their `BridgeNumChannels`.
    pub fn racing(&mut self) {
        self.racing = true;
    }

    /// The run's tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// A ChannelId of this run: `TAG-n`.
    pub fn channel_id(&self, n: u32) -> String {
        format!("{}-{n}", self.tag)
    }

    /// Sends an action (with an ActionID of this run after `Action`) and
    /// waits for its response; `None` if the connection closed first.
    pub fn send(&mut self, headers: &[(&str, &str)]) -> Option<Message> {
        self.next += 1;
        let id = format!("{}-a{}", self.tag, self.next);
        let mut m = Message::new();
        for (i, (n, v)) in headers.iter().enumerate() {
            m.push(n, v);
            if i == 0 {
                m.push("ActionID", &id);
            }
        }
        let mut bytes = Vec::new();
        m.write_wire(&mut bytes);
        self.log.0.lock().lines.push(Line::Sent(m));
        self.stream.write_all(&bytes).expect("write action");
        self.wait(|m| m.is_response() && m.action_id() == Some(id.as_str()))
    }

    /// Logs in; true when accepted.
    pub fn login(&mut self, user: &str, secret: &str) -> bool {
        self.send(&[("Action", "Login"), ("Username", user), ("Secret", secret)])
            .is_some_and(|r| r.response() == Some("Success"))
    }

    /// Waits for a message that `pred` accepts (counting those received
    /// already); `None` when the connection closed or after [`PATIENCE`].
    pub fn wait(&self, pred: impl Fn(&Message) -> bool) -> Option<Message> {
        let deadline = Instant::now() + PATIENCE;
        let mut g = self.log.0.lock();
        loop {
            let found = g.lines.iter().rev().find_map(|l| match l {
                Line::Got(m) if pred(m) => Some(m.clone()),
                _ => None,
            });
            if found.is_some() || g.closed {
                return found;
            }
            if self.log.1.wait_until(&mut g, deadline).timed_out() {
                return None;
            }
        }
    }

    /// Waits for event `name` of this run on a channel whose name starts
    /// with `channel`.
    pub fn wait_event(&self, name: &str, channel: &str) -> Option<Message> {
        self.wait(|m| {
            m.event_name() == Some(name)
                && self.own(m)
                && m.get("Channel").is_some_and(|c| c.starts_with(channel))
        })
    }

    /// Waits until the connection is closed by the server.
    pub fn wait_closed(&self) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let mut g = self.log.0.lock();
        while !g.closed {
            if self.log.1.wait_until(&mut g, deadline).timed_out() {
                return false;
            }
        }
        true
    }

    /// Whether an event belongs to this run: its ActionID, unique id or
    /// linked id starts with the tag, or it names a channel of the run.
    pub fn owns(&self, m: &Message) -> bool {
        self.own(m)
    }

    /// Whether an event belongs to this run (see [`Ami::owns`]).
    fn own(&self, m: &Message) -> bool {
        let ours = |h: &str| m.get(h).is_some_and(|v| v.starts_with(&self.tag));
        ours("ActionID") || ours("Uniqueid") || ours("Linkedid")
    }

    /// Waits until `count` channels of this run have been created and
    /// every one has hung up, then a little longer for stragglers.
    pub fn settle(&self, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        let mut g = self.log.0.lock();
        loop {
            let mut up: HashSet<String> = HashSet::new();
            let mut made = 0;
            for l in &g.lines {
                if let Line::Got(m) = l {
                    if !self.own(m) {
                        continue;
                    }
                    let ch = m.get("Channel").unwrap_or("").to_owned();
                    match m.event_name() {
                        Some("Newchannel") => {
                            made += 1;
                            up.insert(ch);
                        }
                        Some("Hangup") => {
                            up.remove(&ch);
                        }
                        _ => {}
                    }
                }
            }
            if (made >= count && up.is_empty()) || g.closed {
                break;
            }
            if self.log.1.wait_until(&mut g, deadline).timed_out() {
                break;
            }
        }
        drop(g);
        thread::sleep(Duration::from_millis(300));
    }

    /// The normalised transcript: what was sent, every response and this
    /// run's events named in `events` that are not about one channel, in
    /// wire order; then each channel's events (in `events`), one channel
    /// after the other, in the order of their normalised names; then each
    /// bridge's events (those with a `BridgeUniqueid`, of bridges the
    /// run's channels were in), likewise; then the transfers and merges
    /// (stasis' `bridge:all`). Asterisk keeps each channel's
    /// and each bridge's events in order (one stasis topic each) but not
    /// those of two topics, nor a channel's events and
    /// `OriginateResponse`.
    pub fn transcript(&self, events: &[&str]) -> Vec<String> {
        let g = self.log.0.lock();
        // The bridges this run's channels were in: their events without a
        // channel (`BridgeCreate`, `BridgeDestroy`) are the run's too.
        let bridges: HashSet<&str> = g
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Got(m) if self.own(m) => Some(m),
                _ => None,
            })
            .flat_map(|m| m.iter().filter(|(h, _)| is_bridge(h)).map(|(_, v)| v))
            .filter(|v| !v.is_empty())
            .collect();
        let ours =
            |m: &Message| self.own(m) || m.iter().any(|(h, v)| is_bridge(h) && bridges.contains(v));
        let kept: Vec<&Line> = g
            .lines
            .iter()
            .filter(|l| match l {
                Line::Got(m) if !m.is_response() => {
                    ours(m) && events.contains(&m.event_name().unwrap_or(""))
                }
                _ => true,
            })
            .collect();
        let racing = self.racing;
        let mut n = Normaliser::new(&self.tag);
        for l in &kept {
            if let Line::Sent(m) | Line::Got(m) = l {
                for (h, v) in m.iter() {
                    n.learn(h, v);
                }
            }
        }
        let mut out = Vec::new();
        let mut channels: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut by_bridge: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut bridge_all: Vec<String> = Vec::new();
        for l in kept {
            match l {
                Line::Got(m) if on_bridge_all(m) => {
                    bridge_all.push(n.line("S: ", shown(m, racing)));
                }
                Line::Got(m) if m.contains("BridgeUniqueid") => {
                    let b = n.value("BridgeUniqueid", m.get("BridgeUniqueid").unwrap_or(""));
                    by_bridge
                        .entry(b)
                        .or_default()
                        .push(n.line("S: ", shown(m, racing)));
                }
                Line::Banner(b) => out.push(format!("S: Asterisk Call Manager/{b}")),
                Line::Sent(m) => out.push(n.line("C: ", m.iter())),
                Line::Got(m) if m.event_name().is_some_and(|e| e.starts_with("AsyncAGI")) => {
                    let m = decode_agi(m);
                    let ch = n.value("Channel", m.get("Channel").unwrap_or(""));
                    channels
                        .entry(ch)
                        .or_default()
                        .push(n.line("S: ", shown(&m, racing)));
                }
                Line::Got(m) if m.contains("ChannelState") => {
                    let ch = n.value("Channel", m.get("Channel").unwrap_or(""));
                    channels
                        .entry(ch)
                        .or_default()
                        .push(n.line("S: ", shown(m, racing)));
                }
                Line::Got(m) => out.push(n.line("S: ", shown(m, racing))),
                Line::Closed => out.push("# closed by the server".into()),
            }
        }
        for (ch, lines) in channels {
            out.push(format!("# channel {ch}"));
            out.extend(lines);
        }
        for (b, mut lines) in by_bridge {
            if racing {
                sort_leaves(&mut lines);
            }
            out.push(format!("# bridge {b}"));
            out.extend(lines);
        }
        if !bridge_all.is_empty() {
            out.push("# bridge:all".into());
            out.extend(bridge_all);
        }
        out
    }
}

impl Drop for Ami {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// The headers of `m` a transcript shows: when the scenario races (see
/// [`Ami::racing`]), without caller ids and connected lines.
fn shown(m: &Message, racing: bool) -> impl Iterator<Item = (&str, &str)> {
    m.iter()
        .filter(move |(h, _)| !(racing && (h.contains("CallerID") || h.contains("ConnectedLine"))))
}

/// Each run of `BridgeLeave` lines sorted, their `BridgeNumChannels`
/// masked (see [`Ami::racing`]).
fn sort_leaves(lines: &mut [String]) {
    let leave = |l: &String| l.starts_with("S: Event: BridgeLeave |");
    for l in lines.iter_mut().filter(|l| leave(l)) {
        let masked: Vec<String> = l
            .split(" | ")
            .map(|p| {
                if p.starts_with("BridgeNumChannels: ") {
                    "BridgeNumChannels: (racing)".to_owned()
                } else {
                    p.to_owned()
                }
            })
            .collect();
        *l = masked.join(" | ");
    }
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        while i < lines.len() && leave(&lines[i]) {
            i += 1;
        }
        lines[start..i].sort();
        i = i.max(start + 1);
    }
}

/// Whether an event is published on stasis' `bridge:all` topic (transfers
/// and merges): in order among themselves, not with a bridge's or a
/// channel's events.
fn on_bridge_all(m: &Message) -> bool {
    matches!(
        m.event_name(),
        Some("BlindTransfer" | "AttendedTransfer" | "BridgeMerge")
    )
}

/// An AsyncAGI event with its URI-encoded `Env` or `Result` decoded, each
/// line ended by a visible `\n`, without `agi_threadid` (a thread of the
/// instance).
fn decode_agi(m: &Message) -> Message {
    let mut out = Message::new();
    for (h, v) in m.iter() {
        if h.eq_ignore_ascii_case("Env") || h.eq_ignore_ascii_case("Result") {
            let text = uri_decode(v);
            let kept: String = text
                .split_inclusive('\n')
                .filter(|l| !l.starts_with("agi_threadid:"))
                .map(|l| l.replace('\n', "\\n"))
                .collect();
            out.push(h, &kept);
        } else {
            out.push(h, v);
        }
    }
    out
}

/// `%XX` decoded (as Asterisk encodes AsyncAGI's `Env` and `Result`).
fn uri_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(c)) => {
                out.push(c);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
