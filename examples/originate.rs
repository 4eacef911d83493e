//! Places a call and follows it to its end.
//!
//! ```sh
//! cargo run --example originate -- --channel Local/100@test --exten 100 --context test
//! cargo run --example originate -- --addr 127.0.0.1:5038 --username admin \
//!     --channel Local/100@test --application Wait --data 2
//! ```
//!
//! Prints each event of the call and the state changes, then how it ended
//! (hangup cause). Exit status: 0 if the call was answered, 1 if not, 2 on
//! a connection, login or usage error.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use astrix::ami::actions::Originate;
use astrix::ami::{CallManager, CallState};

const USAGE: &str = "usage: originate [connection flags] --channel CHAN \
(--exten E --context C [--priority P] | --application A [--data D]) [--timeout SECS]";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}\n\n{}", ami_conn::CONN_HELP);
        return ExitCode::SUCCESS;
    }
    match run(&mut args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("originate: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &mut Vec<String>) -> Result<bool, Box<dyn std::error::Error>> {
    let conn = ami_conn::Conn::from_args(args)?;
    let mut opt = std::collections::HashMap::new();
    let mut it = args.drain(..);
    while let Some(k) = it.next() {
        let key = k.trim_start_matches("--").to_owned();
        if ![
            "channel",
            "exten",
            "context",
            "priority",
            "application",
            "data",
            "timeout",
        ]
        .contains(&key.as_str())
        {
            return Err(format!("unknown argument {k:?}\n{USAGE}").into());
        }
        let v = it.next().ok_or(format!("{k} needs a value"))?;
        opt.insert(key, v);
    }
    let channel = opt.get("channel").ok_or(USAGE)?;
    let timeout = Duration::from_secs(opt.get("timeout").map_or(Ok(30), |t| t.parse())?);
    let originate = match (opt.get("application"), opt.get("exten"), opt.get("context")) {
        (Some(app), None, _) => {
            let o = Originate::to_application(channel.clone(), app.clone());
            match opt.get("data") {
                Some(d) => o.data(d.clone()),
                None => o,
            }
        }
        (None, Some(exten), Some(context)) => {
            let prio = opt.get("priority").map_or(Ok(1), |p| p.parse())?;
            Originate::to_extension(channel.clone(), context.clone(), exten.clone(), prio)
        }
        _ => return Err(USAGE.into()),
    }
    .timeout(timeout);

    let (manager, _emulator) = conn.connect()?;
    conn.login(&manager)?;
    let calls = CallManager::new(&manager);
    let call = calls.originate(originate)?;
    println!("originating {channel} (Uniqueid {})", call.uniqueid());

    let (mut shown, mut state) = (0, None);
    let deadline = Instant::now() + timeout + Duration::from_secs(3600);
    let end = loop {
        let events = call.events();
        for e in &events[shown..] {
            println!(
                "  event {} {}",
                e.event_name().unwrap_or("?"),
                e.get("Channel").unwrap_or("")
            );
        }
        shown = events.len();
        let s = call.state();
        if state != Some(s) {
            println!("state: {s:?}");
            state = Some(s);
        }
        if let Some(end) = call.end() {
            break end;
        }
        if Instant::now() > deadline {
            return Err("the call did not end".into());
        }
        let _ = call.wait_for(CallState::Ended, Duration::from_millis(50));
    };
    for e in &call.events()[shown..] {
        println!(
            "  event {} {}",
            e.event_name().unwrap_or("?"),
            e.get("Channel").unwrap_or("")
        );
    }
    println!(
        "ended: {:?}, answered: {}, cause: {} ({}), originate reason: {}",
        end.state,
        end.answered,
        end.cause.map_or("-".into(), |c| c.to_string()),
        end.cause_txt.as_deref().unwrap_or("-"),
        end.reason.map_or("-".into(), |r| r.to_string()),
    );
    if let Some(note) = &end.note {
        println!("note: {note}");
    }
    let _ = manager.logoff();
    Ok(end.answered)
}
