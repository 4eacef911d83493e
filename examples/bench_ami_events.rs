//! Bench contract (`../shared/bench/README.md`): count every event a
//! catch-all callback receives from `loadgen ami-events`.
//!
//! ```sh
//! loadgen ami-events --port 5038 --events 2000000 &
//! cargo run --release --example bench_ami_events -- --port 5038
//! ```
//! Prints `{"events":N,"secs":S,"events_per_s":R}` on stdout.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use astrix::ami::Manager;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: bench_ami_events --port P");
        return ExitCode::SUCCESS;
    }
    let port = match port_arg(&args) {
        Some(p) => p,
        None => {
            eprintln!("bench_ami_events: --port P is required");
            return ExitCode::from(2);
        }
    };
    match run(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_ami_events: {e}");
            ExitCode::from(2)
        }
    }
}

fn port_arg(args: &[String]) -> Option<u16> {
    let i = args.iter().position(|a| a == "--port")?;
    args.get(i + 1)?.replace('_', "").parse().ok()
}

fn run(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let manager = Manager::builder(format!("127.0.0.1:{port}"))
        .action_timeout(Duration::from_secs(60))
        .connect()?;
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
    manager.login("bench", "bench")?;
    let end = done_rx.recv_timeout(Duration::from_secs(600))?;
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
