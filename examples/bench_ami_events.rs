//! The `bench_ami_events` program of the bench contract in
//! bench/README.md: count every event a catch-all callback receives from
//! `loadgen ami-events`.
//!
//! ```sh
//! loadgen ami-events --port 5038 --events 2000000 &
//! cargo run --release --example bench_ami_events -- --port 5038
//! ```
//! Prints `{"events":N,"secs":S,"events_per_s":R}` on stdout. Exit status:
//! 0 when done, 2 on a usage error, 3 when the load generator cannot be
//! reached or does not finish in time.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use astrix::ami::Manager;

use cli::{Failure, OrExit, NO_CONNECTION};

const HELP: &str = "usage: bench_ami_events --port P

Connects to `loadgen ami-events` on 127.0.0.1:P, counts every event a
catch-all callback receives until BenchDone, then prints one JSON line:
{\"events\":N,\"secs\":S,\"events_per_s\":R}.

exit status:
  0  done
  2  usage error
  3  no connection: cannot connect or log in, or no BenchDone within 600 s";

fn main() -> ExitCode {
    let port = match cli::parse("bench_ami_events", HELP, |cli| {
        let mut port = None;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--port") => port = Some(cli.number::<u16>("--port")?),
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(port.ok_or("--port P is required")?)
    }) {
        Ok(port) => port,
        Err(code) => return code,
    };
    match run(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report("bench_ami_events"),
    }
}

fn run(port: u16) -> Result<(), Failure> {
    let manager = Manager::builder(format!("127.0.0.1:{port}"))
        .action_timeout(Duration::from_secs(60))
        .connect()
        .or_exit(NO_CONNECTION)?;
    let count = Arc::new(AtomicU64::new(0));
    let first: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    {
        let count = count.clone();
        let first = first.clone();
        manager.on_any_event(move |e| match e.event_name() {
            Some("FullyBooted") => {}
            Some("BenchDone") => {
                let _ = done_tx.try_send(Instant::now());
            }
            _ => {
                first.get_or_init(Instant::now);
                count.fetch_add(1, Ordering::Relaxed);
            }
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
    let n = count.load(Ordering::Relaxed);
    let secs = first
        .get()
        .map(|f| end.duration_since(*f).as_secs_f64())
        .unwrap_or(0.0);
    let rate = if secs > 0.0 { n as f64 / secs } else { 0.0 };
    println!("{{\"events\":{n},\"secs\":{secs:.6},\"events_per_s\":{rate:.1}}}");
    Ok(())
}
