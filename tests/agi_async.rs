//! AsyncAGI over a `Manager` against the AMI emulator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astrix::agi::commands::{Answer, GetVariable, Hangup, Noop, SetVariable};
use astrix::agi::{AgiError, AsyncAgiServer, HangupReason};
use astrix::ami::{Manager, Message};
use astrix::testing::{AmiServer, Reply};

const T: Duration = Duration::from_secs(10);

fn setup() -> (AmiServer, Manager) {
    let server = AmiServer::start().unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    m.login("admin", "wordpass").unwrap();
    (server, m)
}

#[test]
fn commands_run_and_the_channel_goes_back_to_the_dialplan() {
    let (ast, m) = setup();
    let server = AsyncAgiServer::new(&m);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    server.set_default_handler(move |agi| {
        agi.execute(&Answer)?;
        let cid = agi.execute(&GetVariable::new("CALLERID(num)"))?;
        agi.execute(&SetVariable::new("ASTRIX_ARGS", agi.args().join(",")))?;
        agi.execute(&SetVariable::new("QUOTED", "a \"b\" \\ c"))?;
        let q = agi.execute(&GetVariable::new("QUOTED"))?;
        s.lock().unwrap().push((
            cid,
            q,
            agi.environment().get("agi_request").map(str::to_owned),
        ));
        Ok(())
    });
    let ch = ast.start_async_agi(&["one arg", "two"]);
    assert!(server.wait_idle(1, T));
    let got = seen.lock().unwrap().clone();
    assert_eq!(
        got,
        [(
            Some("5550300".into()),
            Some("a \"b\" \\ c".into()),
            Some("async".into())
        )]
    );
    assert_eq!(
        ast.channel_variable(&ch, "ASTRIX_ARGS").as_deref(),
        Some("one arg,two")
    );
    // The last action was ASYNCAGI BREAK, with a CommandID of its own.
    let agi: Vec<Message> = ast
        .actions()
        .into_iter()
        .filter(|a| a.get("Action") == Some("AGI"))
        .collect();
    assert_eq!(agi.last().unwrap().get("Command"), Some("ASYNCAGI BREAK"));
    let mut ids: Vec<&str> = agi.iter().map(|a| a.get("CommandID").unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), agi.len());
}

#[test]
fn routing_by_script_with_captures_then_default() {
    let (ast, m) = setup();
    let server = AsyncAgiServer::new(&m);
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    let id = server
        .register_script_handler("^(?P<kind>as)ync$", move |agi| {
            h.lock().unwrap().push(format!(
                "routed:{}",
                agi.captures().name("kind").unwrap_or("")
            ));
            Ok(())
        })
        .unwrap();
    let h = hits.clone();
    server.set_default_handler(move |_| {
        h.lock().unwrap().push("default".into());
        Ok(())
    });
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(1, T));
    assert!(server.unregister_script_handler(id));
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(2, T));
    assert_eq!(*hits.lock().unwrap(), ["routed:as", "default"]);
    assert!(server.register_script_handler("(", |_| Ok(())).is_err());
    // By pattern, anchored at the start: `sync` does not take `async`.
    let h = hits.clone();
    server
        .register_script_handler("sync", move |_| {
            h.lock().unwrap().push("sync".into());
            Ok(())
        })
        .unwrap();
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(3, T));
    assert!(server.unregister_script_pattern("sync"));
    assert!(!server.unregister_script_pattern("sync"));
    assert_eq!(*hits.lock().unwrap(), ["routed:as", "default", "default"]);
}

#[test]
fn hangup_ends_the_session_and_later_commands_fail_at_once() {
    let (ast, m) = setup();
    let server = AsyncAgiServer::new(&m);
    let results = Arc::new(Mutex::new(Vec::new()));
    let r = results.clone();
    server.set_default_handler(move |agi| {
        r.lock()
            .unwrap()
            .push(format!("{:?}", agi.execute(&Hangup::new())));
        let t0 = Instant::now();
        let e = agi.execute(&Noop).unwrap_err();
        r.lock().unwrap().push(format!(
            "{} {}",
            e.is_hangup(),
            t0.elapsed() < Duration::from_secs(1)
        ));
        Ok(())
    });
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(1, T));
    let got = results.lock().unwrap().clone();
    assert_eq!(got[0], "Ok(())");
    assert_eq!(got[1], "true true");
}

#[test]
fn async_agi_end_in_the_middle_of_a_command() {
    let (ast, m) = setup();
    ast.on_action("AGI", |a| {
        let ch = a.get("Channel").unwrap_or("").to_owned();
        Reply::success_with("Added AGI command to queue").broadcast(
            Message::new()
                .with("Event", "AsyncAGIEnd")
                .with("Channel", &ch)
                .with("Uniqueid", "1.1"),
        )
    });
    let server = AsyncAgiServer::new(&m);
    let err = Arc::new(Mutex::new(None));
    let e2 = err.clone();
    server.set_default_handler(move |agi| {
        *e2.lock().unwrap() = Some(agi.execute(&Answer).unwrap_err());
        Ok(())
    });
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(1, T));
    let e = err.lock().unwrap().clone().unwrap();
    assert!(
        matches!(e, AgiError::Hangup(HangupReason::AsyncAgiEnd)),
        "{e:?}"
    );
}

#[test]
fn a_reply_for_an_unknown_command_id_is_skipped() {
    let (ast, m) = setup();
    ast.on_action("AGI", |a| {
        let ch = a.get("Channel").unwrap_or("").to_owned();
        let id = a.get("CommandID").unwrap_or("").to_owned();
        let exec = |cid: &str, result: &str| {
            Message::new()
                .with("Event", "AsyncAGIExec")
                .with("Channel", &ch)
                .with("CommandId", cid)
                .with("Result", result)
        };
        Reply::success_with("Added AGI command to queue")
            .broadcast(exec("someone-else", "200%20result%3D0%0A"))
            .broadcast(exec(&id, "200%20result%3D1%20(hello%20world)%0A"))
    });
    let server = AsyncAgiServer::new(&m);
    let got = Arc::new(Mutex::new(None));
    let g = got.clone();
    server.set_default_handler(move |agi| {
        *g.lock().unwrap() = Some(agi.execute(&GetVariable::new("X")));
        Ok(())
    });
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(1, T));
    let r = got.lock().unwrap().take().unwrap();
    assert_eq!(r.unwrap().as_deref(), Some("hello world"));
}

#[test]
fn usage_and_unknown_command_errors_come_through() {
    let (ast, m) = setup();
    let server = AsyncAgiServer::new(&m);
    let errs = Arc::new(Mutex::new(Vec::new()));
    let e = errs.clone();
    server.set_default_handler(move |agi| {
        let a = agi.execute(&astrix::agi::commands::RawCommand::new("NO SUCH"));
        let b = agi.execute(&astrix::agi::commands::RawCommand::new("GET VARIABLE"));
        e.lock().unwrap().push(format!("{:?}", a.map(|_| ())));
        e.lock()
            .unwrap()
            .push(format!("{}", matches!(b, Err(AgiError::Usage { .. }))));
        Ok(())
    });
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(1, T));
    assert_eq!(*errs.lock().unwrap(), ["Err(InvalidCommand)", "true"]);
}

#[test]
fn a_blocking_handler_does_not_hold_up_other_callbacks() {
    let (ast, m) = setup();
    let server = AsyncAgiServer::new(&m);
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    server.set_default_handler(move |agi| {
        agi.execute(&Answer)?;
        let _ = go_rx.recv_timeout(T);
        agi.execute(&Noop)?;
        Ok(())
    });
    let events = Arc::new(AtomicUsize::new(0));
    let ev = events.clone();
    m.on_event("UserEvent", move |_| {
        ev.fetch_add(1, Ordering::SeqCst);
    });
    ast.start_async_agi(&[]);
    std::thread::sleep(Duration::from_millis(100));
    ast.push_event(
        Message::new()
            .with("Event", "UserEvent")
            .with("UserEvent", "x"),
    );
    let t0 = Instant::now();
    while events.load(Ordering::SeqCst) == 0 && t0.elapsed() < T {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(events.load(Ordering::SeqCst), 1);
    assert_eq!(server.active_calls(), 1);
    go_tx.send(()).unwrap();
    assert!(server.wait_idle(1, T));
}

#[test]
fn the_pre_12_spelling_starts_a_session_too() {
    let (ast, m) = setup();
    let server = AsyncAgiServer::new(&m);
    let args = Arc::new(Mutex::new(Vec::new()));
    let a = args.clone();
    server.set_default_handler(move |agi| {
        *a.lock().unwrap() = agi.args().to_vec();
        Ok(())
    });
    ast.push_event(
        Message::new()
            .with("Event", "AsyncAGI")
            .with("SubEvent", "Start")
            .with("Channel", "SIP/old-0001")
            .with(
                "Env",
                "agi_request%3A%20async%0Aagi_arg_1%3A%20legacy%0A%0A",
            ),
    );
    assert!(server.wait_idle(1, T));
    assert_eq!(*args.lock().unwrap(), ["legacy"]);
}

#[test]
fn a_panicking_handler_ends_only_its_call() {
    let (ast, m) = setup();
    let server = AsyncAgiServer::new(&m);
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    server.set_default_handler(move |agi| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("handler bug");
        }
        agi.execute(&Answer)?;
        Ok(())
    });
    ast.start_async_agi(&[]);
    ast.start_async_agi(&[]);
    assert!(server.wait_idle(2, T));
    assert_eq!(n.load(Ordering::SeqCst), 2);
}
