//! A live check of the typed AMI catalogue against a real Asterisk, run by
//! hand (never in CI, which has no Asterisk):
//!
//! ```sh
//! ASTRIX_LIVE=admin:wordpass@127.0.0.1:5038 \
//!     cargo test --all-features --test ami_live -- --nocapture
//! ```
//!
//! Without `ASTRIX_LIVE` the test does nothing. With it, it logs in with
//! every event on, sends every read-only action the server's `ListCommands`
//! offers (by name: `…Show…`, `…List…`, `…Status`, `Get…`, …; nothing that
//! sets, deletes, reloads, sends or hangs up) without parameters, originates
//! a few calls (`ASTRIX_LIVE_CALLS`: channels separated by commas, each sent
//! to `Wait(2)`; default the test dialplan's `Local/100@test`, `102`
//! (Echo), `103` (Busy), `300` (AsyncAGI), `500` (a queue) and `600` (a
//! Dial of two Local channels); empty for none), waits for them to end, and
//! prints by event type: events without a type, events that do not parse,
//! and headers left in `extra()`; then the actions it did not test (not
//! read-only, or answered with an error). Set `ASTRIX_LIVE_STRICT=1` to fail
//! on any finding.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astrix::ami::events::parse_event;
use astrix::ami::{Manager, Message, RawAction};

/// What the check saw, by event type.
#[derive(Default)]
struct Findings {
    /// Events read, by type.
    seen: BTreeMap<String, usize>,
    /// Events without a typed struct.
    untyped: BTreeSet<String>,
    /// Events whose typed parse failed, with the error.
    failed: BTreeMap<String, BTreeSet<String>>,
    /// Headers no field holds, by event type.
    extra: BTreeMap<String, BTreeSet<String>>,
}

impl Findings {
    fn check(&mut self, m: &Message) {
        let Some(name) = m.event_name() else {
            return;
        };
        *self.seen.entry(name.to_owned()).or_default() += 1;
        match parse_event(m) {
            None => {
                self.untyped.insert(name.to_owned());
            }
            Some(Err(e)) => {
                self.failed
                    .entry(name.to_owned())
                    .or_default()
                    .insert(e.to_string());
            }
            Some(Ok(e)) => {
                for (h, _) in e.extra() {
                    self.extra
                        .entry(name.to_owned())
                        .or_default()
                        .insert(h.to_owned());
                }
            }
        }
    }

    fn is_clean(&self) -> bool {
        self.untyped.is_empty() && self.failed.is_empty() && self.extra.is_empty()
    }
}

/// `user:secret@host:port`.
fn target(spec: &str) -> (String, String, String) {
    let (cred, addr) = spec
        .rsplit_once('@')
        .expect("ASTRIX_LIVE is user:secret@host:port");
    let (user, secret) = cred
        .split_once(':')
        .expect("ASTRIX_LIVE is user:secret@host:port");
    (addr.to_owned(), user.to_owned(), secret.to_owned())
}

/// True for an action that only reads, judged by its name.
fn read_only(name: &str) -> bool {
    const READS: [&str; 15] = [
        "Show",
        "List",
        "Status",
        "Summary",
        "Count",
        "Info",
        "Check",
        "State",
        "Stats",
        "Get",
        "Sessions",
        "Settings",
        "Parkinglots",
        "ParkedCalls",
        "Agents",
    ];
    const WRITES: [&str; 25] = [
        "Set",
        "Del",
        "Put",
        "Update",
        "Reload",
        "Send",
        "Pause",
        "Add",
        "Remove",
        "Refresh",
        "Reset",
        "Mute",
        "Kick",
        "Lock",
        "Start",
        "Stop",
        "Login",
        "Logoff",
        "Originate",
        "Hangup",
        "Redirect",
        "Flush",
        "Wait",
        "Events",
        "Notify",
    ];
    const ALSO: [&str; 3] = ["Ping", "CoreSettings", "QueueRule"];
    ALSO.contains(&name)
        || (READS.iter().any(|r| name.contains(r)) && !WRITES.iter().any(|w| name.contains(w)))
}

/// The action names `ListCommands` answers with (`Name: Synopsis (Priv: …)`).
fn list_commands(m: &Manager) -> Vec<String> {
    let r = m
        .send_action(&RawAction::new("ListCommands"))
        .expect("ListCommands");
    r.message
        .iter()
        .filter(|(_, v)| v.contains("(Priv:"))
        .map(|(n, _)| n.to_owned())
        .collect()
}

fn channel_count(m: &Manager) -> usize {
    m.send_action(&RawAction::new("CoreShowChannels"))
        .map(|r| r.events.len())
        .unwrap_or(0)
}

#[test]
fn live_catalogue_check() {
    let Ok(spec) = std::env::var("ASTRIX_LIVE") else {
        eprintln!("ami_live: ASTRIX_LIVE not set; nothing to check");
        return;
    };
    let (addr, user, secret) = target(&spec);
    let m = Manager::builder(addr.as_str())
        .action_timeout(Duration::from_secs(20))
        .connect()
        .expect("connect");
    let findings = Arc::new(Mutex::new(Findings::default()));
    let f2 = findings.clone();
    m.on_any_event(move |e| f2.lock().unwrap().check(e));
    m.login(&user, secret.as_str()).expect("login");

    // A few calls first, so that the read-only actions see channels,
    // bridges and queue callers.
    let calls = std::env::var("ASTRIX_LIVE_CALLS").unwrap_or_else(|_| {
        ["100", "102", "103", "300", "500", "600"]
            .map(|e| format!("Local/{e}@test"))
            .join(",")
    });
    for channel in calls.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let a = RawAction::new("Originate")
            .header("Channel", channel)
            .header("Application", "Wait")
            .header("Data", "2")
            .header("Async", "true");
        if let Err(e) = m.send_action(&a) {
            eprintln!("ami_live: Originate {channel}: {e}");
        }
    }

    let names = list_commands(&m);
    let (reads, writes): (Vec<_>, Vec<_>) = names.iter().partition(|n| read_only(n));
    let mut answered_error = BTreeMap::new();
    for name in &reads {
        match m.send_action(&RawAction::new(name.as_str())) {
            Ok(r) => {
                let mut f = findings.lock().unwrap();
                for e in r.events.iter().chain(r.complete.as_ref()) {
                    f.check(e);
                }
                if r.is_error() {
                    answered_error.insert(
                        name.to_string(),
                        r.message_text().unwrap_or_default().to_owned(),
                    );
                }
            }
            Err(e) => {
                answered_error.insert(name.to_string(), e.to_string());
            }
        }
    }

    // Let the calls end and their last events arrive.
    let end = Instant::now() + Duration::from_secs(30);
    while channel_count(&m) > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(1));
    let _ = m.logoff();

    let f = findings.lock().unwrap();
    let total: usize = f.seen.values().sum();
    println!(
        "ami_live: {} actions offered, {} read-only sent ({} answered with an error); \
         {total} events of {} types",
        names.len(),
        reads.len(),
        answered_error.len(),
        f.seen.len()
    );
    println!("untyped events: {:?}", f.untyped);
    for (name, errs) in &f.failed {
        println!("parse failure: {name}: {errs:?}");
    }
    for (name, headers) in &f.extra {
        println!("extra(): {name}: {headers:?}");
    }
    println!("untested, not read-only: {writes:?}");
    for (name, why) in &answered_error {
        println!("untested, answered with an error: {name}: {why}");
    }
    println!("event types seen: {:?}", f.seen);
    if std::env::var("ASTRIX_LIVE_STRICT").is_ok_and(|v| v == "1") {
        assert!(f.is_clean(), "findings above");
    }
}
