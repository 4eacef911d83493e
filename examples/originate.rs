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
//! a usage error, 3 on a connection or login failure.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/show.rs"]
mod show;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use astrix::ami::actions::Originate;
use astrix::ami::{CallManager, CallState};

use cli::{Failure, FAILED};

const NAME: &str = "originate";

fn help() -> String {
    format!(
        "usage: originate [connection flags] --channel CHAN
         (--exten E --context C [--priority P] | --application A [--data D])
         [--timeout SECS]

Places a call and follows it to its end: prints each event of the call and
the state changes, then how it ended (hangup cause).

  --channel CHAN      the channel to dial (Local/100@test, PJSIP/alice)
  --exten E           the extension to connect it to, with --context
  --context C         the context of --exten
  --priority P        the priority of --exten (default 1)
  --application A     the application to run instead of an extension
  --data D            the application's arguments
  --timeout SECS      how long to let it ring (default 30)

{}

exit status:
  0  the call was answered
  1  it was not (busy, no answer, failed)
  2  usage error
  3  no connection: cannot connect or log in, or the connection was lost",
        ami_conn::CONN_HELP
    )
}

fn main() -> ExitCode {
    let help = help();
    let (conn, originate, timeout) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let (mut channel, mut exten, mut context, mut priority) = (None, None, None, 1);
        let (mut application, mut data, mut secs) = (None, None, 30);
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--channel") => channel = Some(cli.string("--channel")?),
                Some("--exten") => exten = Some(cli.string("--exten")?),
                Some("--context") => context = Some(cli.string("--context")?),
                Some("--priority") => priority = cli.number("--priority")?,
                Some("--application") => application = Some(cli.string("--application")?),
                Some("--data") => data = Some(cli.string("--data")?),
                Some("--timeout") => secs = cli.number("--timeout")?,
                _ => conn.take(arg, cli)?,
            }
        }
        let channel = channel.ok_or("--channel is required")?;
        let originate = match (application, exten, context) {
            (Some(app), None, None) => {
                let o = Originate::to_application(channel, app);
                match data {
                    Some(d) => o.data(d),
                    None => o,
                }
            }
            (None, Some(exten), Some(context)) if data.is_none() => {
                Originate::to_extension(channel, context, exten, priority)
            }
            _ => {
                return Err(
                    "give either --exten and --context, or --application (and --data)".into(),
                )
            }
        }
        .timeout(Duration::from_secs(secs));
        Ok((conn.finish()?, originate, Duration::from_secs(secs)))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run(&conn, originate, timeout) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(FAILED),
        Err(f) => f.report(NAME),
    }
}

fn run(conn: &ami_conn::Conn, originate: Originate, timeout: Duration) -> Result<bool, Failure> {
    let channel = originate.channel_name().to_owned();
    let (manager, _emulator) = conn.connect()?;
    conn.login(&manager)?;
    let calls = CallManager::new(&manager);
    let call = calls.originate(originate)?;
    println!("originating {channel} (Uniqueid {})", call.uniqueid());

    let (mut shown, mut state) = (0, None);
    let deadline = Instant::now() + timeout + Duration::from_secs(3600);
    let end = loop {
        shown = print_events(&call.events(), shown);
        let s = call.state();
        if state != Some(s) {
            println!("state: {s:?}");
            state = Some(s);
        }
        if let Some(end) = call.end() {
            break end;
        }
        if Instant::now() > deadline {
            return Err(Failure {
                code: FAILED,
                message: "the call did not end".into(),
            });
        }
        let _ = call.wait_for(CallState::Ended, Duration::from_millis(50));
    };
    print_events(&call.events(), shown);
    let cause = match (end.cause, end.cause_txt.as_deref()) {
        (Some(c), Some(txt)) => format!("{c} ({txt})"),
        (Some(c), None) => c.to_string(),
        (None, _) => "none".into(),
    };
    println!(
        "ended: {:?}, answered: {}, cause: {cause}, originate reason: {}",
        end.state,
        if end.answered { "yes" } else { "no" },
        end.reason.map_or("none".into(), show::originate_reason),
    );
    if let Some(note) = &end.note {
        println!("note: {note}");
    }
    let _ = manager.logoff();
    Ok(end.answered)
}

/// Prints the events from index `from` on; returns how many there are.
fn print_events(events: &[astrix::ami::Message], from: usize) -> usize {
    for e in events.get(from..).unwrap_or_default() {
        println!(
            "  event {} {}",
            e.event_name().unwrap_or("?"),
            e.get("Channel").unwrap_or("")
        );
    }
    events.len()
}
