//! Bench contract (`../shared/bench/README.md`): T threads share one
//! `Manager` and send N blocking `Ping`s in all.
//!
//! ```sh
//! loadgen ami-actions --port 5038 &
//! cargo run --release --example bench_ami_actions -- --port 5038 --threads 4 --actions 100000
//! ```
//! Prints `{"actions":N,"secs":S,"actions_per_s":R}` on stdout.

use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use astrix::ami::actions::Ping;
use astrix::ami::Manager;

fn arg(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.replace('_', "").parse().ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: bench_ami_actions --port P [--threads T] [--actions N]");
        return ExitCode::SUCCESS;
    }
    let Some(port) = arg(&args, "--port") else {
        eprintln!("bench_ami_actions: --port P is required");
        return ExitCode::from(2);
    };
    let threads = arg(&args, "--threads").unwrap_or(1).max(1);
    let actions = arg(&args, "--actions").unwrap_or(30_000);
    match run(port, threads, actions) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_ami_actions: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(port: u64, threads: u64, actions: u64) -> Result<(), Box<dyn std::error::Error>> {
    let manager = Manager::builder(format!("127.0.0.1:{port}"))
        .action_timeout(Duration::from_secs(30))
        .connect()?;
    manager.login("bench", "bench")?;
    let per = actions / threads;
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let m = manager.clone();
            let b = barrier.clone();
            std::thread::spawn(move || -> Result<(), String> {
                b.wait();
                for _ in 0..per {
                    m.send_action(&Ping).map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().map_err(|_| "worker panicked")??;
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = manager.logoff();
    let n = per * threads;
    println!(
        "{{\"actions\":{n},\"secs\":{secs:.6},\"actions_per_s\":{:.1}}}",
        n as f64 / secs
    );
    Ok(())
}
