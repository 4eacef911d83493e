//! Fault injection: many threads send actions while the connection is cut
//! at random; every call gets its own response or a typed error, nothing is
//! misrouted, and no thread is left behind. One test in its own binary, so
//! that the thread count is its alone.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use astrix::ami::{AmiError, Manager, RawAction, ReconnectPolicy};
use astrix::testing::AmiServer;

fn manager_threads() -> usize {
    common::threads_named("astrix-ami-")
}

#[test]
fn sixteen_threads_ten_thousand_actions_random_cuts() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .reconnect(
            ReconnectPolicy::new()
                .initial_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50)),
        )
        .action_timeout(Duration::from_secs(5))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();

    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..16)
        .map(|t| {
            let (m, ok, failed) = (m.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                for i in 0..625 {
                    // Like an application: retry a call that failed with a
                    // disconnect, with a fresh ActionID, until answered.
                    for attempt in 0..10_000 {
                        let id = format!("fault-{t}-{i}-{attempt}");
                        match m.send_action(&RawAction::new("Ping").header("ActionID", &id)) {
                            Ok(r) => {
                                assert_eq!(r.action_id(), Some(id.as_str()), "misrouted reply");
                                ok.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Err(AmiError::Disconnected(_) | AmiError::Timeout { .. }) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(1));
                            }
                            Err(e) => panic!("unexpected error: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    // Cut every few milliseconds (pseudo-random) until the workers end.
    let cuts = std::thread::scope(|s| {
        let cutter = s.spawn(|| {
            let mut seed = 0x1234_5678_9abc_def0u64;
            let mut cuts = 0u32;
            while !done.load(Ordering::Acquire) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                std::thread::sleep(Duration::from_millis(2 + seed % 20));
                server.close_connections();
                cuts += 1;
            }
            cuts
        });
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
        cutter.join().unwrap()
    });
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(ok, 10_000, "every call answered in the end");
    assert!(cuts > 0);
    // It comes back after the cuts end. The last cut may land after the
    // workers finished: until the reader has seen it, `is_connected` still
    // says yes and a call fails with the typed disconnect, so retry.
    let t0 = Instant::now();
    loop {
        match m.send_action(&RawAction::new("Ping")) {
            Ok(_) => break,
            Err(e) if e.is_disconnect() && t0.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("no reconnection after the cuts: {e}"),
        }
    }
    drop(m);
    let t0 = Instant::now();
    while manager_threads() > 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(manager_threads(), 0, "threads left behind");
    eprintln!(
        "10,000 actions, {cuts} cuts: {ok} answered, {failed} attempts failed with a typed error"
    );
}
