//! The `bench_ami_actions` program of the bench contract in
//! bench/README.md: T threads share one `Manager` and send N blocking
//! `Ping`s in all.
//!
//! ```sh
//! loadgen ami-actions --port 5038 &
//! cargo run --release --example bench_ami_actions -- --port 5038 --threads 4 --actions 100000
//! ```
//! Prints `{"actions":N,"secs":S,"actions_per_s":R}` on stdout. Exit
//! status: 0 when done, 1 when an action failed, 2 on a usage error, 3 when
//! the load generator cannot be reached.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use astrix::ami::actions::Ping;
use astrix::ami::Manager;

use cli::{Failure, OrExit, FAILED, NO_CONNECTION};

const HELP: &str =
    "usage: bench_ami_actions --port P [--threads T] [--actions N] [--reply-spin-us U]

Connects to `loadgen ami-actions` on 127.0.0.1:P; T threads (default 1)
share the connection and send N blocking Pings in all (default 30000), then
one JSON line is printed: {\"actions\":N,\"secs\":S,\"actions_per_s\":R}.
U sets the manager's reply_spin in microseconds (default: the manager's).
H (default 127.0.0.1), NAME and S (default bench/bench, which loadgen
takes) point it at a real Asterisk instead.

exit status:
  0  done
  1  an action failed
  2  usage error
  3  no connection: cannot connect or log in";

fn main() -> ExitCode {
    let (port, threads, actions, spin, target) =
        match cli::parse("bench_ami_actions", HELP, |cli| {
            let (mut port, mut threads, mut actions, mut spin) = (None, 1u64, 30_000u64, None);
            let mut target = Target {
                host: "127.0.0.1".into(),
                user: "bench".into(),
                secret: "bench".into(),
            };
            while let Some(arg) = cli.next()? {
                match arg.flag() {
                    Some("--port") => port = Some(cli.number::<u16>("--port")?),
                    Some("--threads") => threads = cli.number("--threads")?,
                    Some("--actions") => actions = cli.number("--actions")?,
                    Some("--reply-spin-us") => spin = Some(cli.number::<u64>("--reply-spin-us")?),
                    Some("--host") => target.host = cli.string("--host")?,
                    Some("--user") => target.user = cli.string("--user")?,
                    Some("--secret") => target.secret = cli.string("--secret")?,
                    _ => return Err(arg.unexpected()),
                }
            }
            let port = port.ok_or("--port P is required")?;
            Ok((port, threads.max(1), actions, spin, target))
        }) {
            Ok(parsed) => parsed,
            Err(code) => return code,
        };
    match run(port, threads, actions, spin, &target) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report("bench_ami_actions"),
    }
}

/// Where to connect and how to log in.
struct Target {
    host: String,
    user: String,
    secret: String,
}

fn run(
    port: u16,
    threads: u64,
    actions: u64,
    spin: Option<u64>,
    target: &Target,
) -> Result<(), Failure> {
    let mut builder =
        Manager::builder(format!("{}:{port}", target.host)).action_timeout(Duration::from_secs(30));
    if let Some(us) = spin {
        builder = builder.reply_spin(Duration::from_micros(us));
    }
    let manager = builder.connect().or_exit(NO_CONNECTION)?;
    manager
        .login(&target.user, target.secret.as_str())
        .or_exit(NO_CONNECTION)?;
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
        h.join()
            .map_err(|_| "worker panicked")
            .or_exit(FAILED)?
            .or_exit(FAILED)?;
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
