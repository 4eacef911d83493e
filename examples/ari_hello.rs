//! A Stasis application over ARI: for each channel that enters it, answers,
//! sets the channel variable `ASTRIX_ARI` to `ok`, plays `sound:beep` and,
//! when the playback finishes, continues the channel in the dialplan.
//! Prints each event's type.
//!
//! ```sh
//! cargo run --features ari --example ari_hello                 # the emulator, 3 calls
//! cargo run --features ari --example ari_hello -- --url http://127.0.0.1:8088 \
//!     --username hey --password peekaboo --app hello --calls 2
//! ```
//!
//! Against a real Asterisk, send calls into the application from the
//! dialplan (`Stasis(hello)`) or with an originate. The example exits after
//! `--calls` channels have left the application (without `--calls`: runs
//! until interrupted). Exit status: 0 when done, 1 when the emulator cannot
//! start, 2 on a usage error, 3 on a connection failure.

#[allow(dead_code)]
#[path = "common/ari_conn.rs"]
mod ari_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use astrix::ari::events::{StasisEnd, StasisStart};
use astrix::ari::{AriError, Client, ConnectionState, Event, ReconnectPolicy};

use cli::{Failure, OrExit, NO_CONNECTION};

const NAME: &str = "ari_hello";

fn help() -> String {
    format!(
        "usage: ari_hello [--url http://HOST:8088 --username U --password P]
                 [--app NAME] [--calls N]

A Stasis application over ARI: for each channel that enters it, answers,
sets ASTRIX_ARI=ok, plays sound:beep and, when the beep has played,
continues the channel in the dialplan. Prints each event's type. Without
--url, an emulated Asterisk sends 3 calls into it.

{}
  --calls N           exit after N channels have left the application
                      (default: 3 with the emulator, else run until Ctrl-C)

exit status:
  0  done
  1  the emulator cannot start
  2  usage error
  3  no connection: cannot connect, or the connection was lost",
        ari_conn::CONN_HELP
    )
}

struct Options {
    conn: ari_conn::Conn,
    calls: Option<usize>,
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let help = help();
    let o = match cli::parse(NAME, &help, |cli| {
        let mut o = Options {
            conn: ari_conn::Conn::new(),
            calls: None,
        };
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--calls") => o.calls = Some(cli.number("--calls")?),
                _ => o.conn.take(arg, cli)?,
            }
        }
        Ok(o)
    }) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match run(o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(NAME),
    }
}

fn run(o: Options) -> Result<(), Failure> {
    // Without --url: an emulated Asterisk that places the calls itself.
    let (client, emulator) = o.conn.connect(|b| b.reconnect(ReconnectPolicy::new()))?;
    let calls = o.calls.or(emulator.as_ref().map(|_| 3));

    client.on_any_event(|_, event: &Event| println!("event {}", event.event_type()));
    client.on_connection_state(|state: &ConnectionState| match state {
        ConnectionState::Connected => println!("connection up"),
        ConnectionState::Lost(why) => println!("connection lost: {why}"),
        ConnectionState::Reconnected => println!("connection up again"),
        ConnectionState::GaveUp(why) => println!("connection given up: {why}"),
        _ => println!("connection changed"),
    });
    client.on(|client: &Client, e: &StasisStart| {
        if let Err(err) = hello(client, &e.channel.id) {
            eprintln!("channel {}: {err}", e.channel.id);
        }
    });
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    let ended = Arc::new(AtomicUsize::new(0));
    client.on(move |_: &Client, e: &StasisEnd| {
        let n = ended.fetch_add(1, Ordering::SeqCst) + 1;
        println!("channel {} left the application ({n} so far)", e.channel.id);
        let _ = done_tx.send(n);
    });
    // The callbacks are in place: let the events flow (those that arrived
    // since connect() waited for this, none is lost).
    client.start();

    if let Some(server) = &emulator {
        for i in 0..calls.unwrap_or(0) {
            server.incoming_call(&o.conn.app, &[&format!("call-{i}")]);
        }
    }
    match calls {
        Some(n) => {
            while let Ok(done) = done_rx.recv() {
                if done >= n {
                    break;
                }
            }
        }
        None => client.wait_closed().or_exit(NO_CONNECTION)?,
    }
    client.close();
    println!("done");
    Ok(())
}

/// Answers, sets `ASTRIX_ARI=ok`, plays a beep and continues in the
/// dialplan once the beep has played.
fn hello(client: &Client, channel_id: &str) -> Result<(), AriError> {
    let channel = client.channel(channel_id);
    channel.answer()?;
    channel.set_channel_var("ASTRIX_ARI", "ok").send()?;
    // Subscribe to the playback before starting it, so that its end cannot
    // be missed.
    let playback = client.playback(client.new_id());
    let finished = channel.clone();
    playback.on_event("PlaybackFinished", move |_, _| {
        if let Err(err) = finished.continue_in_dialplan().send() {
            eprintln!("channel {}: continue: {err}", finished.id());
        }
    });
    channel.play_with_id(playback.id(), "sound:beep").send()?;
    Ok(())
}
