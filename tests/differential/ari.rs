//! ARI for the scenarios: REST requests over a bare HTTP/1.1 connection
//! (status and body kept as sent) and the application's events through
//! astrix's client, every one in order.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use astrix::ari::{Client, Event};
use astrix::Subscription;
use serde_json::Value;

use super::ami::PATIENCE;
use super::normalise::Normaliser;

/// JSON fields dropped from transcripts: clocks and the instance's id.
const DROPPED: &[&str] = &["timestamp", "creationtime", "asterisk_id"];

/// An ARI session of one scenario.
pub struct Ari {
    addr: String,
    tag: String,
    /// Kept open for the run (the events come through it).
    _client: Client,
    events: Subscription<Event>,
    raw: Vec<(String, Value)>,
    /// The channel of the first `StasisStart`.
    in_stasis: Option<String>,
}

impl Ari {
    /// Connects application `TAG` to the ARI at `addr` (`HOST:PORT`).
    pub fn connect(addr: &str, tag: &str) -> Ari {
        let client = Client::builder(format!("http://{addr}"))
            .credentials("hey", "peekaboo")
            .app(tag)
            .connect()
            .expect("connect to ARI");
        let events = client.subscribe(1024);
        client.start();
        Ari {
            addr: addr.to_owned(),
            tag: tag.to_owned(),
            _client: client,
            events,
            raw: Vec::new(),
            in_stasis: None,
        }
    }

    /// The application's name (the run's tag).
    pub fn app(&self) -> &str {
        &self.tag
    }

    /// Sends a request (`path` with its query, without `/ari`); its status.
    pub fn request(&mut self, method: &str, path: &str) -> u16 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let target = format!("/ari{path}{sep}api_key=hey:peekaboo");
        let mut s = TcpStream::connect(&self.addr).expect("connect to ARI");
        s.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        );
        s.write_all(req.as_bytes()).expect("write request");
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let resp = String::from_utf8_lossy(&resp).into_owned();
        let status: u16 = resp
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        let mut body: Value = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
        // A playback's state when the answer is written races with the
        // playback (queued, playing or already failed): not compared.
        if path.contains("/play") {
            if let Some(m) = body.as_object_mut() {
                m.remove("state");
            }
        }
        self.raw.push((format!("C: {method} {path}"), Value::Null));
        self.raw.push((format!("S: {status}"), body));
        status
    }

    /// Waits for an event of `kind` (taking every event before it into
    /// the transcript); `None` after [`PATIENCE`].
    pub fn wait(&mut self, kind: &str) -> Option<Value> {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let e = self
                .events
                .recv_timeout(left.max(Duration::from_millis(1)))
                .ok()?;
            let v = e.to_json();
            if !v.to_string().contains(&self.tag) {
                continue;
            }
            let t = e.event_type().to_owned();
            // The dial phase of an originate (`Dial`, the other half of a
            // Local channel) is not modelled: events count from
            // `StasisStart` on, and only those of the channel in Stasis
            // (or of no channel: playbacks, bridges).
            let channel = v.pointer("/channel/id").and_then(Value::as_str);
            if t == "StasisStart" && self.in_stasis.is_none() {
                self.in_stasis = channel.map(str::to_owned);
            }
            let ours = match (&self.in_stasis, channel) {
                (None, _) => false,
                (Some(_), None) => t != "Dial",
                (Some(s), Some(c)) => s == c,
            };
            if ours {
                self.raw.push((format!("S: event {t}"), v.clone()));
            }
            if t == kind {
                return Some(v);
            }
        }
    }

    /// The normalised transcript: each request and its status and body,
    /// each event of this run, JSON flattened to `path=value` pairs.
    pub fn transcript(&self) -> Vec<String> {
        let mut n = Normaliser::new(&self.tag);
        let mut flat = Vec::new();
        for (head, v) in &self.raw {
            let mut pairs = Vec::new();
            flatten("", v, &mut pairs);
            for (k, val) in &pairs {
                n.learn(k, val);
            }
            flat.push((head, pairs));
        }
        flat.into_iter()
            .map(|(head, pairs)| {
                let parts: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", n.value(k, v)))
                    .collect();
                if parts.is_empty() {
                    n.value("", head)
                } else {
                    format!("{} | {}", n.value("", head), parts.join(" | "))
                }
            })
            .collect()
    }
}

/// `v` as `path=value` pairs, keys in order, without [`DROPPED`] fields.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null if prefix.is_empty() => {}
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                if DROPPED.contains(&k.as_str()) {
                    continue;
                }
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, &m[k], out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
            if a.is_empty() {
                out.push((prefix.to_owned(), "[]".into()));
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}
