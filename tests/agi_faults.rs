//! FastAGI under fault injection: 1,000 connections against a cap of 256,
//! slow-loris environments, clients that vanish mid-session, handlers that
//! panic. The server keeps serving and its threads stay within the cap.
//! One test in its own binary, so that the thread count is its alone.
//! Where the open-files limit cannot reach 1,000 connections (each costs
//! two descriptors in this process), it uses as many as the limit allows.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use astrix::agi::commands::Noop;
use astrix::agi::FastAgiServer;
use astrix::testing::{FastAgiClient, Fault};

fn server_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_to_string(e.path().join("comm"))
                        .is_ok_and(|c| c.starts_with("astrix-fastagi"))
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_server_keeps_serving_within_its_cap() {
    let server = FastAgiServer::builder()
        .max_connections(256)
        .environment_timeout(Some(Duration::from_millis(800)))
        .bind("127.0.0.1:0")
        .unwrap();
    server
        .register_script_handler("^panic$", |_| panic!("handler bug"))
        .unwrap();
    server
        .register_script_handler("", |req| {
            for _ in 0..3 {
                req.execute(&Noop)?;
            }
            Ok(())
        })
        .unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let serving = std::thread::spawn(move || server.serve_forever());

    // 1,000 slow-loris connections: half an environment, then nothing.
    // Each holds two descriptors here (client and server side); leave room
    // for the rest of the test.
    let fds = common::raise_fd_limit();
    let wanted = usize::try_from(fds.saturating_sub(256) / 2)
        .unwrap_or(usize::MAX)
        .min(1000);
    assert!(
        wanted >= 300,
        "open-files limit {fds} is too low for this test"
    );
    if wanted < 1000 {
        eprintln!("note: open-files limit {fds}: {wanted} slow connections instead of 1,000");
    }
    let mut loris = Vec::new();
    for _ in 0..wanted {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.write_all(b"agi_network: yes\nagi_request: agi://x/slow\n");
            loris.push(s);
        }
    }
    assert_eq!(loris.len(), wanted);
    let t0 = Instant::now();
    let mut peak = 0;
    while t0.elapsed() < Duration::from_millis(300) {
        peak = peak.max(server_threads());
        assert!(handle.active_calls() <= 256);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(peak <= 256, "{peak} threads for a cap of 256");

    // Once the slow ones time out, real calls, vanishing clients and
    // panicking handlers all go through.
    drop(loris);
    let t1 = Instant::now();
    while handle.active_calls() > 0 && t1.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let clients: Vec<_> = (0..30)
        .map(|i| {
            std::thread::spawn(move || {
                let c = FastAgiClient::new().timeout(Duration::from_secs(10));
                match i % 3 {
                    0 => c.run(addr).map(|t| t.commands.len()),
                    1 => c
                        .fault(Fault::CloseAt(2))
                        .run(addr)
                        .map(|t| t.commands.len()),
                    _ => c.script("panic").run(addr).map(|t| t.commands.len()),
                }
            })
        })
        .collect();
    let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    for (i, r) in results.iter().enumerate() {
        match i % 3 {
            0 => assert_eq!(r.as_ref().ok(), Some(&3), "call {i}: {r:?}"),
            _ => assert!(r.is_ok(), "call {i}: {r:?}"),
        }
    }
    assert!(server_threads() <= 256);
    handle.shutdown();
    assert!(serving.join().unwrap().is_ok());
    assert!(handle.wait(Duration::from_secs(5)));
}
