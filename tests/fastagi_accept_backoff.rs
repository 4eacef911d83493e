//! FastAGI when `accept` fails for want of file descriptors: the server
//! backs off and logs one warning instead of one every 20 ms, and serves
//! again once descriptors are free. In its own binary: it lowers the
//! process's open-files limit and installs a logger.

#![cfg(target_os = "linux")]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use astrix::agi::commands::Noop;
use astrix::agi::FastAgiServer;
use astrix::testing::FastAgiClient;

/// Keeps every warning astrix logs.
struct Warnings(Mutex<Vec<String>>);

impl log::Log for Warnings {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

static WARNINGS: Warnings = Warnings(Mutex::new(Vec::new()));

fn accept_warnings() -> Vec<String> {
    WARNINGS
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains("accept"))
        .cloned()
        .collect()
}

fn set_fd_limit(n: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the plain struct
    // passed to them.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = n as libc::rlim_t;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

#[test]
fn accept_failures_back_off_and_recover() {
    log::set_logger(&WARNINGS).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    server
        .register_script_handler("", |req| req.execute(&Noop))
        .unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    // A call waits in the listen queue before the server accepts anything
    // (a blocked `accept` holds a descriptor of its own already).
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .write_all(&FastAgiClient::new().environment_bytes())
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());

    // Leave room for a few descriptors, then take every one of them.
    set_fd_limit(open_fds() + 16);
    let mut held = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        held.push(f);
    }
    assert!(!held.is_empty());
    let serving = std::thread::spawn(move || server.serve_forever());
    std::thread::sleep(Duration::from_millis(1500));
    let during = accept_warnings();
    eprintln!("while out of descriptors: {during:?}");
    assert!(!during.is_empty(), "the failure was not logged");
    assert!(
        during.len() <= 2,
        "{} warnings in 1.5 s: {during:?}",
        during.len()
    );

    // Descriptors free again: the waiting call is served.
    drop(held);
    let t0 = Instant::now();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        "NOOP\n",
        "every warning: {:?}",
        WARNINGS.0.lock().unwrap()
    );
    eprintln!("served {:?} after descriptors were freed", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(5));
    client.write_all(b"200 result=0\n").unwrap();
    line.clear();
    assert_eq!(reader.read_line(&mut line).unwrap(), 0, "the call ends");
    let after = accept_warnings();
    assert!(
        after.iter().any(|w| w.contains("accepting again")),
        "{after:?}"
    );
    handle.shutdown();
    assert!(serving.join().unwrap().is_ok());
}
