//! FastAgiServer over real loopback sockets, driven by FastAgiClient.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use astrix::agi::commands::*;
use astrix::agi::{
    AgiError, FastAgiRequest, FastAgiServer, FastAgiServerBuilder, HangupReason, ShutdownHandle,
};
use astrix::testing::{FastAgiClient, Fault};

const T: Duration = Duration::from_secs(10);

/// Starts `server.serve_forever()` on a thread; returns its address, the
/// shutdown handle and the thread.
fn serve(server: FastAgiServer) -> (SocketAddr, ShutdownHandle, thread::JoinHandle<()>) {
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let thread = thread::spawn(move || server.serve_forever().unwrap());
    (addr, handle, thread)
}

fn stop(handle: ShutdownHandle, thread: thread::JoinHandle<()>) {
    handle.shutdown();
    thread.join().unwrap();
    assert!(handle.wait(T));
}

fn client() -> FastAgiClient {
    FastAgiClient::new().timeout(T)
}

/// Serves every call with one `NOOP`.
fn serve_noop(
    builder: FastAgiServerBuilder,
) -> (SocketAddr, ShutdownHandle, thread::JoinHandle<()>) {
    let server = builder.bind("127.0.0.1:0").unwrap();
    server
        .register_script_handler("", |req| req.execute(&Noop))
        .unwrap();
    serve(server)
}

/// Serves with a reply timeout; what `handler` answers for each call comes
/// out of the receiver.
fn serve_reporting<R: Send + 'static>(
    reply_timeout: Duration,
    handler: impl Fn(&mut FastAgiRequest<'_>) -> R + Send + Sync + 'static,
) -> (
    SocketAddr,
    ShutdownHandle,
    thread::JoinHandle<()>,
    mpsc::Receiver<R>,
) {
    let server = FastAgiServer::builder()
        .reply_timeout(Some(reply_timeout))
        .bind("127.0.0.1:0")
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server
        .register_script_handler("", move |req| {
            let r = handler(req);
            tx.lock().unwrap().send(r).unwrap();
            Ok(())
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);
    (addr, handle, thread, rx)
}

#[test]
fn routing_in_order_with_captures_args_and_query() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    server
        .register_script_handler(r"^ivr/(?P<menu>\w+)$", move |req| {
            s.lock().unwrap().push((
                "ivr",
                req.script_path().to_owned(),
                req.captures().name("menu").map(str::to_owned),
                req.args().to_vec(),
                req.query(),
            ));
            req.execute(&Answer)
        })
        .unwrap();
    let s = Arc::clone(&seen);
    server
        .register_script_handler(r"^ivr/", move |req| {
            s.lock().unwrap().push((
                "second",
                req.script_path().to_owned(),
                None,
                vec![],
                Default::default(),
            ));
            Ok(())
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);

    let call = client()
        .script("ivr/main?lang=en&x=1&x=2")
        .arg("a")
        .arg("b c")
        .run(addr)
        .unwrap();
    assert_eq!(call.commands, ["ANSWER"]);
    assert!(call.closed_by_peer);
    client().script("ivr/main/sub").run(addr).unwrap();
    stop(handle, thread);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let (who, path, menu, args, query) = &seen[0];
    assert_eq!(*who, "ivr");
    assert_eq!(path, "ivr/main");
    assert_eq!(menu.as_deref(), Some("main"));
    assert_eq!(args, &["a", "b c"]);
    assert_eq!(query["x"], ["1", "2"]);
    assert_eq!(query["lang"], ["en"]);
    assert_eq!(seen[1].0, "second");
}

#[test]
fn unregister_clear_and_default_handler() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let id = server
        .register_script_handler("^demo$", |req| req.execute(&Answer))
        .unwrap();
    assert!(server.register_script_handler("(", |_| Ok(())).is_err());
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let server = Arc::new(server);
    let s2 = Arc::clone(&server);
    let thread = thread::spawn(move || s2.serve_forever().unwrap());

    assert_eq!(client().run(addr).unwrap().commands, ["ANSWER"]);
    assert!(server.unregister_script_handler(id));
    assert!(!server.unregister_script_handler(id));
    // No handler and no default: closed without a command.
    let call = client().run(addr).unwrap();
    assert!(call.commands.is_empty());
    assert!(call.closed_by_peer);
    server.set_default_handler(|req| {
        assert!(req.captures().is_empty());
        req.execute(&Noop)
    });
    assert_eq!(
        client().script("anything").run(addr).unwrap().commands,
        ["NOOP"]
    );
    server
        .register_script_handler("demo", |req| req.execute(&Answer))
        .unwrap();
    server.clear_script_handlers();
    assert_eq!(client().run(addr).unwrap().commands, ["NOOP"]);
    server.clear_default_handler();
    assert!(client().run(addr).unwrap().commands.is_empty());
    stop(handle, thread);
}

#[test]
fn patterns_are_anchored_at_the_start_of_the_path() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let demo = server.register_script_handler("demo", |_| Ok(())).unwrap();
    let exact = server
        .register_script_handler("^exact$", |_| Ok(()))
        .unwrap();
    let route = |path: &str| server.script_handler(path).and_then(|r| r.id());
    // Anchored at the start (pystrix's re.match)…
    assert_eq!(route("demo"), Some(demo));
    assert_eq!(route("notdemo/x"), None);
    assert_eq!(route("x/demo"), None);
    // …not at the end: what follows the match is allowed.
    assert_eq!(route("demo/x"), Some(demo));
    assert_eq!(route("demonstration"), Some(demo));
    assert_eq!(route("exact"), Some(exact));
    assert_eq!(route("exactly"), None);
    // A compiled regex with flags is anchored the same way.
    let ci = regex::RegexBuilder::new("menu")
        .case_insensitive(true)
        .build()
        .unwrap();
    let menu = server.register_script_handler_regex(ci, |_| Ok(()));
    assert_eq!(route("MENU/1"), Some(menu));
    assert_eq!(route("main/menu"), None);
    // The default handler takes the rest, with empty captures.
    server.set_default_handler(|_| Ok(()));
    let fallback = server.script_handler("notdemo/x").unwrap();
    assert!(fallback.is_default());
    assert_eq!(fallback.pattern(), None);
    assert!(fallback.captures().is_empty());

    // A real call for `notdemo/x` is not taken by `demo`.
    server.clear_default_handler();
    let (addr, handle, thread) = serve(server);
    let call = client().script("notdemo/x").run(addr).unwrap();
    assert!(call.commands.is_empty());
    assert!(call.closed_by_peer);
    stop(handle, thread);
}

#[test]
fn same_pattern_twice_keeps_one_route_and_unregister_by_pattern() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let first = server
        .register_script_handler("^a", |req| req.execute(&Answer))
        .unwrap();
    let b = server.register_script_handler("^ab", |_| Ok(())).unwrap();
    // The same text again: the handler is replaced in place, same id, so
    // `^a` still comes before `^ab`.
    let again = server
        .register_script_handler("^a", |req| req.execute(&Noop))
        .unwrap();
    assert_eq!(again, first);
    let route = server.script_handler("abc").unwrap();
    assert_eq!((route.id(), route.pattern()), (Some(first), Some("^a")));
    let (addr, handle, thread) = serve(server);
    assert_eq!(client().script("abc").run(addr).unwrap().commands, ["NOOP"]);
    stop(handle, thread);

    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    server.register_script_handler("^a", |_| Ok(())).unwrap();
    let b2 = server.register_script_handler("^ab", |_| Ok(())).unwrap();
    assert_ne!(b, b2);
    assert!(server.unregister_script_pattern("^a"));
    assert!(!server.unregister_script_pattern("^a"));
    assert!(!server.unregister_script_pattern("^abc"));
    assert_eq!(server.script_handler("abc").and_then(|r| r.id()), Some(b2));
}

/// pystrix's handler shape, `(agi, args, kwargs, match, path)`, called
/// with the session and the request's data borrowed side by side.
fn pystrix_shaped(
    agi: &mut astrix::agi::FastAgiSession,
    args: &[String],
    kwargs: &std::collections::HashMap<String, Vec<String>>,
    found: &astrix::agi::Captures,
    path: &str,
) -> Result<(), AgiError> {
    let text = format!(
        "{path}|{}|{}|{}",
        args.join(","),
        kwargs["k"].join(","),
        found.name("n").unwrap_or("-")
    );
    agi.execute(&SetVariable::new("SEEN", text))?;
    Ok(())
}

#[test]
fn handler_in_pystrix_shape_without_cloning() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    server
        .register_script_handler(r"^p/(?P<n>\d+)", |req| {
            let (agi, info) = req.parts();
            pystrix_shaped(
                agi,
                info.args(),
                &info.query(),
                info.captures(),
                info.script_path(),
            )
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);
    let call = client().script("p/42?k=v").arg("x").run(addr).unwrap();
    assert_eq!(call.commands, ["SET VARIABLE SEEN p/42|x|v|42"]);
    stop(handle, thread);
}

#[test]
fn panicking_or_failing_handler_ends_only_its_call() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    server
        .register_script_handler("^panic$", |req| {
            req.execute(&Answer)?;
            panic!("handler bug");
        })
        .unwrap();
    server
        .register_script_handler("^fail$", |req| {
            req.execute(&Answer)?;
            Err(AgiError::InvalidCommand)
        })
        .unwrap();
    server
        .register_script_handler("^ok$", |req| req.execute(&Noop))
        .unwrap();
    let (addr, handle, thread) = serve(server);
    let call = client().script("panic").run(addr).unwrap();
    assert_eq!(call.commands, ["ANSWER"]);
    assert!(call.closed_by_peer);
    assert_eq!(
        client().script("fail").run(addr).unwrap().commands,
        ["ANSWER"]
    );
    assert_eq!(client().script("ok").run(addr).unwrap().commands, ["NOOP"]);
    stop(handle, thread);
}

#[test]
fn hangup_faults() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server
        .register_script_handler("", move |req| {
            let mut results = Vec::new();
            for _ in 0..4 {
                results.push(req.execute(&GetVariable::new("CALLERID(num)")).map(drop));
            }
            tx.lock().unwrap().send(results).unwrap();
            Ok(())
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);

    for fault in [Fault::HangupAt(2), Fault::GluedHangupAt(2)] {
        let call = client().fault(fault.clone()).run(addr).unwrap();
        // After the HANGUP line nothing more is sent.
        assert_eq!(call.commands.len(), 2, "{fault:?}");
        let results = rx.recv_timeout(T).unwrap();
        assert!(results[0].is_ok());
        for r in &results[1..] {
            assert!(
                matches!(r, Err(AgiError::Hangup(HangupReason::HangupLine))),
                "{r:?}"
            );
        }
    }
    // The HANGUP command: the next reply carries the HANGUP line.
    stop(handle, thread);

    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server
        .register_script_handler("", move |req| {
            let a = req.execute(&Hangup::new());
            let b = req.execute(&Noop);
            let c = req.execute(&Answer);
            tx.lock().unwrap().send((a, b, c)).unwrap();
            Ok(())
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);
    let call = client().run(addr).unwrap();
    assert_eq!(call.commands, ["HANGUP", "NOOP"]);
    assert!(call.hung_up);
    let (a, b, c) = rx.recv_timeout(T).unwrap();
    a.unwrap();
    assert!(b.unwrap_err().is_hangup());
    assert!(c.unwrap_err().is_hangup());
    stop(handle, thread);
}

#[test]
fn dead_channel_usage_and_peer_closing() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server
        .register_script_handler("", move |req| {
            let results = vec![
                req.execute(&Answer).map_err(|e| e.to_string()),
                req.execute(&StreamFile::new("x"))
                    .map(drop)
                    .map_err(|e| e.to_string()),
                req.execute(&Noop).map_err(|e| e.to_string()),
            ];
            tx.lock().unwrap().send(results).unwrap();
            Ok(())
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);

    client().fault(Fault::DeadChannelFrom(2)).run(addr).unwrap();
    let r = rx.recv_timeout(T).unwrap();
    assert!(r[0].is_ok());
    assert!(r[1].as_ref().unwrap_err().contains("511"), "{r:?}");
    assert!(r[2].is_ok(), "NOOP is allowed on a dead channel");

    client().fault(Fault::UsageAt(1)).run(addr).unwrap();
    let r = rx.recv_timeout(T).unwrap();
    assert!(r[0].as_ref().unwrap_err().contains("520"), "{r:?}");
    assert!(r[1].is_ok());

    for fault in [Fault::CloseAt(2), Fault::CloseMidReplyAt(2)] {
        let call = client().fault(fault.clone()).run(addr).unwrap();
        assert_eq!(call.commands.len(), 2);
        let r = rx.recv_timeout(T).unwrap();
        assert!(r[0].is_ok());
        assert!(
            r[1].as_ref().unwrap_err().contains("closed"),
            "{fault:?}: {r:?}"
        );
        assert!(
            r[2].as_ref().unwrap_err().contains("closed"),
            "{fault:?}: {r:?}"
        );
    }
    stop(handle, thread);
}

#[test]
fn trickling_client_and_bad_environments() {
    let server = FastAgiServer::builder()
        .environment_timeout(Some(Duration::from_millis(300)))
        .bind("127.0.0.1:0")
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    server
        .register_script_handler("", move |req| {
            c.fetch_add(1, Ordering::SeqCst);
            req.execute(&GetVariable::new("CALLERID(num)")).map(drop)
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);

    // Slow: every byte on its own (the whole environment within the timeout).
    let call = client()
        .fault(Fault::Trickle(Duration::from_micros(200)))
        .run(addr)
        .unwrap();
    assert_eq!(call.commands, ["GET VARIABLE CALLERID(num)"]);

    // A connection that sends nothing is closed after the environment timeout.
    let call = client().fault(Fault::Silent).run(addr).unwrap();
    assert!(call.closed_by_peer);
    // Half an environment, then close.
    let call = client()
        .fault(Fault::CloseMidEnvironment)
        .run(addr)
        .unwrap();
    assert!(call.commands.is_empty());
    // Garbage instead of an environment.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "nothing is sent to a peer that is not Asterisk"
    );

    assert_eq!(calls.load(Ordering::SeqCst), 1);
    stop(handle, thread);
}

#[test]
fn connections_past_the_cap_are_closed_at_once() {
    let server = FastAgiServer::builder()
        .max_connections(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let hold_rx = Mutex::new(hold_rx);
    let (started_tx, started_rx) = mpsc::channel();
    let started_tx = Mutex::new(started_tx);
    server
        .register_script_handler("", move |req| {
            started_tx.lock().unwrap().send(()).unwrap();
            let _ = hold_rx.lock().unwrap().recv_timeout(T);
            req.execute(&Noop)
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);
    let first = thread::spawn(move || client().run(addr).unwrap());
    started_rx.recv_timeout(T).unwrap();
    assert_eq!(handle.active_calls(), 1);
    // The second connection is accepted and closed without a command.
    let second = client().run(addr).unwrap();
    assert!(second.commands.is_empty());
    assert!(second.closed_by_peer);
    hold_tx.send(()).unwrap();
    assert_eq!(first.join().unwrap().commands, ["NOOP"]);
    stop(handle, thread);
}

#[test]
fn handle_request_with_timeout() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    server
        .register_script_handler("", |req| req.execute(&Answer))
        .unwrap();
    assert!(!server.handle_request(Duration::from_millis(50)).unwrap());
    let addr = server.local_addr();
    let c = thread::spawn(move || client().run(addr).unwrap());
    assert!(server.handle_request(T).unwrap());
    assert_eq!(c.join().unwrap().commands, ["ANSWER"]);
    assert!(server.shutdown(T));
    assert!(!server.handle_request(Duration::from_millis(10)).unwrap());
}

#[test]
fn shutdown_waits_for_running_calls_and_drop_never_hangs() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let started_tx = Mutex::new(started_tx);
    server
        .register_script_handler("", move |req| {
            started_tx.lock().unwrap().send(()).unwrap();
            thread::sleep(Duration::from_millis(200));
            req.execute(&Noop)
        })
        .unwrap();
    let (addr, handle, thread) = serve(server);
    let c = thread::spawn(move || client().run(addr).unwrap());
    started_rx.recv_timeout(T).unwrap();
    handle.shutdown();
    thread.join().unwrap();
    // The running call finishes; no new ones are accepted.
    assert!(handle.wait(T));
    assert_eq!(c.join().unwrap().commands, ["NOOP"]);
    assert!(client()
        .timeout(Duration::from_secs(2))
        .run(addr)
        .map(|t| t.commands.is_empty())
        .unwrap_or(true));

    // Dropping a server nobody serves returns at once.
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    drop(server);
}

#[test]
fn ipv6_loopback() {
    let Ok(server) = FastAgiServer::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    server
        .register_script_handler("", |req| req.execute(&Answer))
        .unwrap();
    let (addr, handle, thread) = serve(server);
    assert!(addr.is_ipv6());
    assert_eq!(client().run(addr).unwrap().commands, ["ANSWER"]);
    stop(handle, thread);
}

#[test]
fn reply_timeout() {
    let (addr, handle, thread, rx) = serve_reporting(Duration::from_millis(200), |req| {
        req.execute(&Noop)
            .map_err(|e| matches!(e, AgiError::Timeout))
    });
    // The client never answers NOOP.
    client()
        .responder(|_| {
            thread::sleep(Duration::from_millis(600));
            None
        })
        .run(addr)
        .unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), Err(true));
    stop(handle, thread);
}

#[test]
fn only_allowed_peers_are_served() {
    use std::net::{IpAddr, Ipv4Addr};
    for (allowed, served) in [
        (IpAddr::V4(Ipv4Addr::LOCALHOST), true),
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), false),
    ] {
        let (addr, handle, thread) = serve_noop(FastAgiServer::builder().allowed_peers([allowed]));
        let t = client().run(addr).unwrap();
        if served {
            assert_eq!(t.commands, ["NOOP"]);
        } else {
            assert!(t.commands.is_empty());
            assert!(t.closed_by_peer);
        }
        stop(handle, thread);
    }
}

#[test]
fn bind_failure_names_the_address() {
    let first = FastAgiServer::bind("127.0.0.1:0").unwrap();
    let addr = first.local_addr();
    let e = FastAgiServer::bind(addr).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    let text = e.to_string();
    assert!(text.contains(&addr.to_string()), "{text}");
    let inner = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<astrix::agi::BindError>())
        .expect("a BindError inside");
    assert_eq!(inner.addrs, [addr]);
}

#[test]
fn usage_block_with_a_glued_end_marker_ends_the_command() {
    // Without the fix the command waits for an end line that never comes:
    // the reply timeout makes that a quick failure instead of a hang.
    let (addr, handle, thread, rx) = serve_reporting(Duration::from_secs(3), |req| {
        let first = req.execute(&Answer);
        (first, req.execute(&Noop).is_ok())
    });
    let call = client()
        .reply(
            "ANSWER",
            [
                "520-Invalid command syntax.  Proper usage follows:",
                "Answers channel if not already in answer state. Returns -1 on channel failure, or 0 if successful.520 End of proper usage.",
            ],
        )
        .run(addr)
        .unwrap();
    assert_eq!(call.commands, ["ANSWER", "NOOP"]);
    let (first, second_ok) = rx.recv_timeout(T).unwrap();
    match first {
        Err(AgiError::Usage { usage }) => assert_eq!(
            usage,
            "Answers channel if not already in answer state. Returns -1 on channel failure, or 0 if successful."
        ),
        other => panic!("{other:?}"),
    }
    assert!(second_ok);
    stop(handle, thread);
}

#[test]
fn past_the_intake_cap_the_oldest_unfinished_environments_go() {
    let (addr, handle, thread) = serve_noop(FastAgiServer::builder().max_pending_environments(4));
    let half_open: Vec<TcpStream> = (0..7)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"agi_network: yes\n").unwrap();
            s
        })
        .collect();
    // Seven unfinished environments for four places: the three oldest
    // were closed to make room.
    for (i, mut s) in half_open.iter().enumerate() {
        let closed = i < 3;
        s.set_read_timeout(Some(if closed {
            T
        } else {
            Duration::from_millis(200)
        }))
        .unwrap();
        let r = s.read(&mut [0u8; 1]);
        if closed {
            assert!(
                matches!(&r, Ok(0))
                    || matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
                "connection {i}: {r:?}"
            );
        } else {
            assert!(
                matches!(&r, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
                "connection {i}: {r:?}"
            );
        }
    }
    // A real call is served beside the four left.
    assert_eq!(client().run(addr).unwrap().commands, ["NOOP"]);
    drop(half_open);
    stop(handle, thread);
}

/// Connections that were waiting before the server accepted them (a burst
/// of calls): their bytes are all there at the first look, on the
/// accepting thread. A whole environment is served, garbage and a peer
/// that already left are closed without a word, and a half environment
/// goes on to the intake and is served once it is whole.
#[test]
fn connections_already_waiting_at_the_first_look() {
    let server = FastAgiServer::builder()
        .listen_backlog(64)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    server
        .register_script_handler("", |req| req.execute(&Noop))
        .unwrap();
    let whole = thread::spawn(move || client().run(addr).unwrap());
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    garbage.set_read_timeout(Some(T)).unwrap();
    drop(TcpStream::connect(addr).unwrap());
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"agi_network: yes\nagi_request: agi://x/y\n")
        .unwrap();
    half.set_read_timeout(Some(T)).unwrap();
    // Everything above sits in the backlog until now.
    thread::sleep(Duration::from_millis(100));
    let (_, handle, thread) = serve(server);

    assert_eq!(whole.join().unwrap().commands, ["NOOP"]);
    let mut rest = Vec::new();
    garbage.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "nothing is sent to a peer that is not Asterisk"
    );
    half.write_all(b"agi_channel: Local/1@x-00000001;1\n\n")
        .unwrap();
    let mut line = [0u8; 5];
    half.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"NOOP\n");
    half.write_all(b"200 result=0\n").unwrap();
    stop(handle, thread);
}
