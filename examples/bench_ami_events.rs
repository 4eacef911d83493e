//! The `bench_ami_events` program of the bench contract in
//! bench/README.md: count every event a catch-all callback receives from
//! `loadgen ami-events`; with `--typed`, count them through typed callbacks
//! instead (`on::<Newchannel>`, `on::<Hangup>`, `on::<VarSet>`, ... one per
//! kind in loadgen's mix, each event parsed into its struct), as an
//! application would.
//!
//! ```sh
//! loadgen ami-events --port 5038 --events 2000000 &
//! cargo run --release --example bench_ami_events -- --port 5038 [--typed]
//! ```
//! Prints `{"events":N,"secs":S,"events_per_s":R}` on stdout (with
//! `--typed`, also `"parse_errors"`: events that did not parse as their
//! type, counted as lost). Exit status:
//! 0 when done, 2 on a usage error, 3 when the load generator cannot be
//! reached or does not finish in time.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use astrix::ami::events::{
    BridgeEnter, DialBegin, DialEnd, Event, Hangup, Newchannel, Newstate, VarSet,
};
use astrix::ami::Manager;

use cli::{Failure, OrExit, NO_CONNECTION};

const HELP: &str = "usage: bench_ami_events --port P [--typed]

Connects to `loadgen ami-events` on 127.0.0.1:P, counts every event a
catch-all callback receives until BenchDone, then prints one JSON line:
{\"events\":N,\"secs\":S,\"events_per_s\":R}.

  --typed  count through one typed callback per kind of loadgen's mix
           (Manager::on::<VarSet>, on::<Newstate>, ...) instead; the line
           also gets \"parse_errors\" (events not read as their type)

exit status:
  0  done
  2  usage error
  3  no connection: cannot connect or log in, or no BenchDone within 600 s";

fn main() -> ExitCode {
    let (port, typed) = match cli::parse("bench_ami_events", HELP, |cli| {
        let (mut port, mut typed) = (None, false);
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--port") => port = Some(cli.number::<u16>("--port")?),
                Some("--typed") => typed = true,
                _ => return Err(arg.unexpected()),
            }
        }
        Ok((port.ok_or("--port P is required")?, typed))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run(port, typed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report("bench_ami_events"),
    }
}

/// What the callbacks count: events, and when the first one arrived.
#[derive(Default)]
struct Tally {
    count: AtomicU64,
    first: OnceLock<Instant>,
}

impl Tally {
    fn hit(&self) {
        self.first.get_or_init(Instant::now);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Registers a typed callback counting every `E`.
fn count_typed<E: Event>(manager: &Manager, tally: &Arc<Tally>) {
    let tally = Arc::clone(tally);
    manager.on::<E>(move |_| tally.hit());
}

fn run(port: u16, typed: bool) -> Result<(), Failure> {
    let manager = Manager::builder(format!("127.0.0.1:{port}"))
        .action_timeout(Duration::from_secs(60))
        .connect()
        .or_exit(NO_CONNECTION)?;
    let tally = Arc::new(Tally::default());
    let parse_errors = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    if typed {
        // loadgen's mix (bench/loadgen/src/events.rs), one callback a kind.
        count_typed::<VarSet>(&manager, &tally);
        count_typed::<Newstate>(&manager, &tally);
        count_typed::<BridgeEnter>(&manager, &tally);
        count_typed::<Newchannel>(&manager, &tally);
        count_typed::<Hangup>(&manager, &tally);
        count_typed::<DialBegin>(&manager, &tally);
        count_typed::<DialEnd>(&manager, &tally);
        manager.on_event("BenchDone", move |_| {
            let _ = done_tx.try_send(Instant::now());
        });
        let parse_errors = parse_errors.clone();
        manager.on_protocol_error(move |_| {
            parse_errors.fetch_add(1, Ordering::Relaxed);
        });
    } else {
        let tally = tally.clone();
        manager.on_any_event(move |e| match e.event_name() {
            Some("FullyBooted") => {}
            Some("BenchDone") => {
                let _ = done_tx.try_send(Instant::now());
            }
            _ => tally.hit(),
        });
    }
    manager.login("bench", "bench").or_exit(NO_CONNECTION)?;
    let end = done_rx
        .recv_timeout(Duration::from_secs(600))
        .map_err(|_| Failure {
            code: NO_CONNECTION,
            message: "no BenchDone within 600 s".into(),
        })?;
    let _ = manager.logoff();
    let n = tally.count.load(Ordering::Relaxed);
    let secs = tally
        .first
        .get()
        .map(|f| end.duration_since(*f).as_secs_f64())
        .unwrap_or(0.0);
    let rate = if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let errors = if typed {
        format!(",\"parse_errors\":{}", parse_errors.load(Ordering::Relaxed))
    } else {
        String::new()
    };
    println!("{{\"events\":{n},\"secs\":{secs:.6},\"events_per_s\":{rate:.1}{errors}}}");
    Ok(())
}
