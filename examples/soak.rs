//! A soak run: AMI events, actions and FastAGI sessions against the
//! emulators, with faults injected (connections cut, clients vanishing,
//! handlers panicking), printing RSS, threads and counts at each interval.
//! Memory and threads should stay flat. Not part of CI.
//!
//! ```sh
//! cargo run --release --example soak -- --minutes 10 [--every-secs 60]
//! ```
//!
//! Exit status: 0 when done, 1 when the emulators cannot start, 2 on a
//! usage error.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use astrix::agi::commands::{Answer, GetVariable, Noop, SetVariable};
use astrix::agi::FastAgiServer;
use astrix::ami::actions::Ping;
use astrix::ami::{Manager, Message, ReconnectPolicy};
use astrix::testing::{AmiServer, FastAgiClient, Fault};

#[derive(Default)]
struct Counts {
    events: AtomicU64,
    actions_ok: AtomicU64,
    actions_failed: AtomicU64,
    sessions_ok: AtomicU64,
    sessions_faulty: AtomicU64,
    cuts: AtomicU64,
}

fn status() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

const HELP: &str = "usage: soak [--minutes M] [--every-secs S]

A soak run against the built-in emulators: AMI events, actions and FastAGI
sessions, with faults injected (connections cut, clients vanishing, handlers
panicking). Prints a CSV line every S seconds: minute, RSS (kB), threads and
counts. Memory and threads should stay flat.

  --minutes M         how long to run (default 5)
  --every-secs S      seconds between lines (default 60)

exit status:
  0  done
  1  the emulators cannot start
  2  usage error";

fn main() -> ExitCode {
    let (minutes, every) = match cli::parse("soak", HELP, |cli| {
        let (mut minutes, mut every) = (5, 60);
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--minutes") => minutes = cli.number("--minutes")?,
                Some("--every-secs") => every = cli.number("--every-secs")?,
                _ => return Err(arg.unexpected()),
            }
        }
        Ok((
            minutes,
            Duration::from_secs(every).max(Duration::from_secs(1)),
        ))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run(minutes, every) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail("soak", cli::FAILED, e),
    }
}

fn run(minutes: u64, every: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let ami = AmiServer::start()?;
    let manager = Manager::builder(ami.addr())
        .reconnect(ReconnectPolicy::new().initial_delay(Duration::from_millis(50)))
        .keepalive(Duration::from_secs(5))
        .connect()?;
    {
        let c = Arc::clone(&counts);
        manager.on_any_event(move |_| {
            c.events.fetch_add(1, Ordering::Relaxed);
        });
    }
    manager.login("admin", "wordpass")?;

    let agi = FastAgiServer::builder()
        .max_connections(64)
        .bind("127.0.0.1:0")?;
    agi.register_script_handler("^panic$", |_| panic!("soak: a handler bug"))?;
    agi.register_script_handler("", |req| {
        req.execute(&Answer)?;
        req.execute(&SetVariable::new("SOAK", "1"))?;
        req.execute(&GetVariable::new("SOAK"))?;
        req.execute(&Noop)?;
        Ok(())
    })?;
    let agi_addr = agi.local_addr();
    let agi_stop = agi.shutdown_handle();
    let agi_thread = std::thread::spawn(move || agi.serve_forever());

    let (stop, counts, ami, manager) = (&*stop, &*counts, &ami, &manager);
    std::thread::scope(|s| {
        // Events pushed by the emulator.
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                ami.push_event(
                    Message::new()
                        .with("Event", "UserEvent")
                        .with("UserEvent", "Soak")
                        .with("N", &i.to_string()),
                );
                if i % 100 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        // Actions from four threads.
        for _ in 0..4 {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    match manager.send_action(&Ping) {
                        Ok(_) => counts.actions_ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            counts.actions_failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            });
        }
        // The AMI connection is cut every few seconds.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(3));
                ami.close_connections();
                // The emulator records every action; the library must not.
                ami.clear_actions();
                counts.cuts.fetch_add(1, Ordering::Relaxed);
            }
        });
        // FastAGI sessions, one in four with a fault.
        for t in 0..4u64 {
            s.spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let c = FastAgiClient::new().timeout(Duration::from_secs(10));
                    let c = match (i + t) % 8 {
                        1 => c.fault(Fault::CloseAt(2)),
                        3 => c.fault(Fault::HangupAt(3)),
                        5 => c.script("panic"),
                        _ => c,
                    };
                    let faulty = (i + t) % 8 % 2 == 1;
                    match c.run(agi_addr) {
                        Ok(_) if !faulty => counts.sessions_ok.fetch_add(1, Ordering::Relaxed),
                        _ => counts.sessions_faulty.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        // Reports.
        let start = Instant::now();
        let end = start + Duration::from_secs(minutes * 60);
        println!("minute,rss_kb,threads,events,actions_ok,actions_failed,sessions_ok,sessions_faulty,cuts");
        while Instant::now() < end {
            std::thread::sleep(every.min(end.saturating_duration_since(Instant::now())));
            let (rss, threads) = status();
            println!(
                "{:.1},{rss},{threads},{},{},{},{},{},{}",
                start.elapsed().as_secs_f64() / 60.0,
                counts.events.load(Ordering::Relaxed),
                counts.actions_ok.load(Ordering::Relaxed),
                counts.actions_failed.load(Ordering::Relaxed),
                counts.sessions_ok.load(Ordering::Relaxed),
                counts.sessions_faulty.load(Ordering::Relaxed),
                counts.cuts.load(Ordering::Relaxed),
            );
        }
        stop.store(true, Ordering::Relaxed);
    });
    manager.close();
    agi_stop.shutdown();
    let _ = agi_thread.join();
    Ok(())
}
