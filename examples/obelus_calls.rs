//! obelus's CallManager and AsyncAGIExecutor: originate a call and follow
//! it through state callbacks (`call_queued`, `call_state_changed`,
//! `dialing_started`, `dialing_finished`, `call_ended`, `call_failed`),
//! and run AGI commands on a channel in `AGI(agi:async)` over the same
//! AMI connection.
//!
//! ```sh
//! cargo run --example obelus_calls                       # the emulator
//! cargo run --example obelus_calls -- --addr 127.0.0.1:5038 --username admin --secret wordpass
//! ```
//!
//! With `--addr` the call is `Local/300@test` (the test dialplan's
//! `AGI(agi:async)`) running `Wait(5)` on its other half, so the AsyncAGI
//! session is the call's own; against the emulator the call is
//! `Local/100@test` and a channel of the emulator enters AsyncAGI.
//!
//! Exit status: 0 when the call ended and the AsyncAGI session was served,
//! 1 when the call failed or nothing was served in time, 2 on a usage
//! error, 3 when Asterisk cannot be reached or refuses the login.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::time::Duration;

use astrix::agi::commands::{Answer, SetVariable, Verbose};
use astrix::agi::AsyncAgiServer;
use astrix::ami::actions::Originate;
use astrix::ami::{CallEvent, CallManager, CallState};

use cli::{Failure, FAILED};

const NAME: &str = "obelus_calls";

fn help() -> String {
    format!(
        "usage: obelus_calls [connection flags] [--channel CHANNEL]

obelus's CallManager and AsyncAGIExecutor: originates a call, prints each
change of its state as a callback sees it, and serves the AsyncAGI session
of a channel in AGI(agi:async).

  --channel CHANNEL   the channel to originate (default Local/300@test with
                      --addr, Local/100@test against the emulator)
{}

exit status:
  0  the call ended and an AsyncAGI session was served
  1  the call failed, or no AsyncAGI session came in time
  2  usage error
  3  no connection: cannot connect or log in",
        ami_conn::CONN_HELP
    )
}

/// A number Asterisk may not have sent.
fn number(n: Option<i32>) -> String {
    n.map_or("unknown".to_owned(), |n| n.to_string())
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let help = help();
    let (conn, channel) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let mut channel = None;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--channel") => channel = Some(cli.string("--channel")?),
                _ => conn.take(arg, cli)?,
            }
        }
        Ok((conn.finish()?, channel))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let real = conn.addr.is_some();
    let channel = channel.unwrap_or_else(|| {
        if real {
            "Local/300@test"
        } else {
            "Local/100@test"
        }
        .to_owned()
    });
    let (manager, emulator) = match conn.connect() {
        Ok(m) => m,
        Err(f) => return f.report(NAME),
    };
    if let Err(f) = conn.login(&manager) {
        return f.report(NAME);
    }

    // obelus: AsyncAGIExecutor — AGI commands over AMI.
    let executor = AsyncAgiServer::new(&manager);
    executor.set_default_handler(|agi| {
        println!("AsyncAGI: session on {}", agi.channel());
        agi.execute(&Answer)?;
        agi.execute(&Verbose::new("hello from astrix over AsyncAGI"))?;
        agi.execute(&SetVariable::new("ASTRIX_SEEN", "yes"))?;
        println!("AsyncAGI: ANSWER, VERBOSE and SET VARIABLE done");
        Ok(())
    });

    // obelus: CallManager and a Call subclass with its callbacks.
    let calls = CallManager::new(&manager);
    calls.on_call_event(|call, event| match event {
        CallEvent::Queued => println!("call_queued ({})", call.uniqueid()),
        CallEvent::StateChanged(state) => println!("call_state_changed: {state:?}"),
        CallEvent::DialingStarted => println!("dialing_started"),
        CallEvent::DialingFinished { status } => println!("dialing_finished: {status}"),
        CallEvent::Ended(end) => println!(
            "call_ended: cause {} ({})",
            number(end.cause),
            end.cause_txt.as_deref().unwrap_or("no text")
        ),
        CallEvent::Failed(end) => println!(
            "call_failed: reason {}, cause {}{}",
            number(end.reason),
            number(end.cause),
            end.note
                .as_deref()
                .map_or(String::new(), |n| format!(", {n}"))
        ),
        _ => println!("{event:?}"),
    });
    let originate = Originate::to_application(channel.as_str(), "Wait").data("5");
    let call = match calls.originate(originate) {
        Ok(c) => c,
        Err(e) => return Failure::from(e).report(NAME),
    };
    if let Some(em) = &emulator {
        // The emulator's dialplan: a channel enters AGI(agi:async).
        em.start_async_agi(&["obelus"]);
    }
    let end = match call.wait_end(Duration::from_secs(30)) {
        Ok(end) => end,
        Err(e) => {
            let _ = manager.logoff();
            return cli::fail(NAME, FAILED, e);
        }
    };
    let served = executor.wait_idle(1, Duration::from_secs(10));
    println!(
        "ended {:?}, answered {}, AsyncAGI sessions served: {}",
        end.state,
        end.answered,
        executor.calls_served()
    );
    drop(executor);
    drop(calls);
    let _ = manager.logoff();
    if end.state != CallState::Ended {
        return cli::fail(NAME, FAILED, "the call was not answered");
    }
    if !served {
        return cli::fail(NAME, FAILED, "no AsyncAGI session was served");
    }
    ExitCode::SUCCESS
}
