//! The library's main job in one run: connect, log in, a callback, Ping,
//! CoreShowChannels, a Command, an Originate and the events it brings.
//!
//! ```sh
//! cargo run --example quickstart                      # against the built-in emulator
//! cargo run --example quickstart -- --addr 127.0.0.1:5038 --username admin --secret wordpass
//! ```

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/show.rs"]
mod show;

use std::process::ExitCode;
use std::time::Duration;

use astrix::ami::actions::{Command, CoreShowChannels, Hangup as HangupAction, Originate, Ping};
use astrix::ami::events::{Hangup, OriginateResponse};
use astrix::ami::Message;

use cli::{Failure, FAILED};

const NAME: &str = "quickstart";

fn help() -> String {
    format!(
        "usage: quickstart [connection flags]

The library's main job in one run: connect, log in, a callback, Ping,
CoreShowChannels, a Command, an Originate and the events it brings.

{}

exit status:
  0  done
  1  a step failed
  2  usage error
  3  no connection: cannot connect or log in, or the connection was lost",
        ami_conn::CONN_HELP
    )
}

fn main() -> ExitCode {
    let help = help();
    let conn = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        while let Some(arg) = cli.next()? {
            conn.take(arg, cli)?;
        }
        conn.finish()
    }) {
        Ok(conn) => conn,
        Err(code) => return code,
    };
    match run(&conn) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(NAME),
    }
}

fn run(conn: &ami_conn::Conn) -> Result<(), Failure> {
    let (manager, _emulator) = conn.connect()?;
    match &conn.addr {
        Some(a) => println!("connected to {a} (AMI {})", manager.ami_version()),
        None => println!(
            "connected to the built-in emulator (AMI {})",
            manager.ami_version()
        ),
    }

    // Callbacks are registered before login so that no event is missed.
    manager.on_any_event(|e: &Message| {
        let name = e.event_name().unwrap_or("?");
        match e.get("Channel") {
            Some(ch) => println!("  <- event {name} {ch}"),
            None => println!("  <- event {name}"),
        }
    });
    let (ended_tx, ended_rx) = crossbeam_channel::unbounded();
    let (orig_tx, orig_rx) = crossbeam_channel::unbounded();
    manager.on(move |h: &Hangup| {
        let _ = ended_tx.send(h.channel.channel.clone());
    });
    manager.on(move |r: &OriginateResponse| {
        let _ = orig_tx.send(r.clone());
    });

    conn.login(&manager)?;
    println!("logged in as {}", conn.username);
    manager.wait_fully_booted(Duration::from_secs(5))?;

    let pong = manager.send_action(&Ping)?;
    match pong.timestamp {
        Some(t) => println!("Ping -> Pong (server clock: Unix time {t})"),
        None => println!("Ping -> Pong"),
    }

    let channels = manager.send_action(&CoreShowChannels)?;
    println!("CoreShowChannels -> {} channel(s)", channels.len());

    let out = manager.send_action(&Command::new("core show version"))?;
    println!("Command 'core show version' ->");
    for line in &out.lines {
        println!("  | {line}");
    }

    let originate = Originate::to_application("Local/100@test", "Wait")
        .data("20")
        .caller_id("Astrix Quickstart <5551234>")
        .variable("ASTRIX_TAG", "quickstart")
        .timeout(Duration::from_secs(15))
        .async_(true);
    let r = manager.send_action(&originate)?;
    println!("Originate -> {}", r.message_text().unwrap_or(r.status()));
    let outcome = orig_rx
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| Failure {
            code: FAILED,
            message: "no OriginateResponse within 20 s".into(),
        })?;
    println!(
        "OriginateResponse -> {} on {}{}",
        outcome.response,
        outcome.channel.as_deref().unwrap_or("no channel"),
        outcome.reason.map_or(String::new(), |r| format!(
            ", reason {}",
            show::originate_reason(r)
        ))
    );

    let channels = manager.send_action(&CoreShowChannels)?;
    println!("CoreShowChannels -> {} channel(s)", channels.len());
    for c in &channels {
        println!(
            "  {} ({}) in {}",
            c.channel.channel,
            c.channel.state_desc.as_deref().unwrap_or("state unknown"),
            c.application.as_deref().unwrap_or("no application")
        );
    }
    let answered = outcome.is_success();
    if let Some(ch) = outcome.channel.filter(|_| answered) {
        match manager.send_action(&HangupAction::new(ch.clone())) {
            Ok(_) => println!("Hangup {ch} -> ok"),
            Err(e) => println!("Hangup {ch} -> {e}"),
        }
        if let Ok(gone) = ended_rx.recv_timeout(Duration::from_secs(10)) {
            println!("channel {gone} hung up");
        }
    }
    manager.logoff()?;
    println!("logged off");
    Ok(())
}
