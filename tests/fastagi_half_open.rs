//! FastAGI against 1,000 half-open connections (half an environment, then
//! nothing, kept open): a real call is still served at once, and the
//! server's threads stay within its call cap plus a few. One test in its
//! own binary, so that the thread count is its alone. Where the open-files
//! limit cannot reach 1,000 connections (each costs two descriptors in this
//! process), it uses as many as the limit allows.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use astrix::agi::commands::Noop;
use astrix::agi::FastAgiServer;
use astrix::testing::FastAgiClient;

/// The call cap: far below the number of half-open connections.
const CAP: usize = 64;

#[test]
fn half_open_connections_do_not_keep_a_real_call_out() {
    let server = FastAgiServer::builder()
        .max_connections(CAP)
        .bind("127.0.0.1:0")
        .unwrap();
    server
        .register_script_handler("", |req| req.execute(&Noop))
        .unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let serving = std::thread::spawn(move || server.serve_forever());

    let fds = common::raise_fd_limit();
    let wanted = usize::try_from(fds.saturating_sub(128) / 2)
        .unwrap_or(usize::MAX)
        .min(1000);
    assert!(
        wanted >= 4 * CAP,
        "open-files limit {fds} is too low for this test"
    );
    if wanted < 1000 {
        eprintln!("note: open-files limit {fds}: {wanted} half-open connections instead of 1,000");
    }
    let mut half_open = Vec::new();
    for _ in 0..wanted {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"agi_network: yes\nagi_network_script: slow\nagi_request: agi://x/slow\n")
            .unwrap();
        half_open.push(s);
    }

    // Every one of them is held (the default environment timeout is 10 s)
    // while a real call comes in.
    let t0 = Instant::now();
    let call = FastAgiClient::new()
        .timeout(Duration::from_secs(10))
        .run(addr)
        .unwrap();
    let served_in = t0.elapsed();
    eprintln!(
        "a real call beside {wanted} half-open connections: served in {served_in:?}, \
         {} server threads",
        common::threads_named("astrix-fastagi")
    );
    assert_eq!(call.commands, ["NOOP"], "the call was refused");
    assert!(call.closed_by_peer);
    assert!(
        served_in < Duration::from_secs(2),
        "served in {served_in:?}"
    );
    let threads = common::threads_named("astrix-fastagi");
    assert!(threads <= CAP + 4, "{threads} threads for a cap of {CAP}");
    // The call's slot is given back just after its connection is closed.
    let t1 = Instant::now();
    while handle.active_calls() > 0 && t1.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(handle.active_calls(), 0);

    // The half-open connections are still there: nothing closed them.
    for s in &half_open {
        s.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        let r = std::io::Read::read(&mut &*s, &mut b);
        assert!(
            matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{r:?}"
        );
    }
    drop(half_open);
    handle.shutdown();
    assert!(serving.join().unwrap().is_ok());
}
