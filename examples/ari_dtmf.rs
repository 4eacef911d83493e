//! aioari's DTMF example over ARI: each channel that enters the Stasis
//! application is answered; then each key the caller presses is handled:
//! `#` says goodbye (plays `sound:goodbye`) and, once that has played,
//! continues the channel in the dialplan; `*` plays
//! `sound:asterisk-friend`; any other digit is read back (`digits:N`).
//!
//! ```sh
//! cargo run --features ari --example ari_dtmf                 # the emulator
//! cargo run --features ari --example ari_dtmf -- --url http://127.0.0.1:8088 \
//!     --username hey --password peekaboo --app hello --calls 1
//! ```
//!
//! With the emulator, one call enters and presses the keys of `--digits`
//! (default `12*#`). Against a real Asterisk, send a call into the
//! application (`Stasis(hello)` in the dialplan, or an originate) and press
//! keys (or send DTMF with ARI's `POST /channels/{id}/dtmf` on the other
//! end of a Local channel). The example exits after `--calls` channels have
//! left the application (without `--calls`: runs until interrupted). Exit
//! status: 0 when done, 1 when the emulator cannot start or a call does not
//! arrive, 2 on a usage error, 3 on a connection failure.

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
use std::time::Duration;

use astrix::ari::events::{ChannelDtmfReceived, PlaybackFinished};
use astrix::ari::{AriError, Channel};

use cli::{Failure, OrExit, FAILED, NO_CONNECTION};

const NAME: &str = "ari_dtmf";

fn help() -> String {
    format!(
        "usage: ari_dtmf [--url http://HOST:8088 --username U --password P]
                [--app NAME] [--calls N] [--digits KEYS]

aioari's DTMF example: answers each channel that enters the Stasis
application, then for each key pressed: # plays sound:goodbye and
continues the channel in the dialplan, * plays sound:asterisk-friend, a
digit N is read back (digits:N). Without --url, an emulated Asterisk
sends one call that presses the keys of --digits.

{}
  --calls N           exit after N channels have left the application
                      (default: 1 with the emulator, else run until Ctrl-C)
  --digits KEYS       the keys the emulated caller presses (default: 12*#;
                      the call leaves at #)

exit status:
  0  done
  1  the emulator cannot start, or its call did not reach the application
  2  usage error
  3  no connection: cannot connect, or the connection was lost",
        ari_conn::CONN_HELP
    )
}

struct Options {
    conn: ari_conn::Conn,
    calls: Option<usize>,
    digits: String,
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let help = help();
    let o = match cli::parse(NAME, &help, |cli| {
        let mut o = Options {
            conn: ari_conn::Conn::new(),
            calls: None,
            digits: "12*#".into(),
        };
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--calls") => o.calls = Some(cli.number("--calls")?),
                Some("--digits") => o.digits = cli.string("--digits")?,
                _ => o.conn.take(arg, cli)?,
            }
        }
        if let Some(bad) = o.digits.chars().find(|c| !"0123456789*#ABCD".contains(*c)) {
            return Err(format!("--digits: {bad:?} is not a DTMF key").into());
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
    let (client, emulator) = o.conn.connect(|b| b)?;
    let calls = o.calls.or(emulator.as_ref().map(|_| 1));

    // aioari: client.on_channel_event('StasisStart', on_start), and in
    // on_start channel.on_event('ChannelDtmfReceived', on_dtmf).
    let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
    client.on_channel_event("StasisStart", move |channel, _| {
        println!("channel {} entered the application", channel.id());
        if let Err(err) = channel.answer() {
            eprintln!("channel {}: answer: {err}", channel.id());
            return;
        }
        channel.on::<ChannelDtmfReceived>(on_dtmf);
        let _ = ready_tx.send(channel.id().to_owned());
    });
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    client.on_channel_event("StasisEnd", move |channel, _| {
        println!("channel {} left the application", channel.id());
        let _ = done_tx.send(());
    });
    // The callbacks are in place: let the events flow.
    client.start();

    if let Some(server) = &emulator {
        for _ in 0..calls.unwrap_or(0) {
            let id = server.incoming_call(&o.conn.app, &[]);
            // Press the keys once the DTMF callback is in place.
            if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
                return Err(Failure {
                    code: FAILED,
                    message: format!("channel {id} did not reach the application"),
                });
            }
            for key in o.digits.chars() {
                server.dtmf(&id, key);
            }
        }
    }
    match calls {
        Some(n) => {
            for _ in 0..n {
                if done_rx.recv().is_err() {
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

/// aioari's `on_dtmf`: `#` says goodbye and continues in the dialplan, `*`
/// plays a sound, a digit is read back.
fn on_dtmf(channel: &Channel, dtmf: &ChannelDtmfReceived) {
    let digit = dtmf.digit.as_str();
    println!("channel {}: key {digit}", channel.id());
    let played = match digit {
        "#" => goodbye(channel),
        "*" => channel.play("sound:asterisk-friend").send().map(drop),
        _ => channel.play(format!("digits:{digit}")).send().map(drop),
    };
    if let Err(err) = played {
        eprintln!("channel {}: play: {err}", channel.id());
    }
}

/// Plays `sound:goodbye`, and continues the channel in the dialplan once
/// it has played (or failed: a missing sound fails at once).
fn goodbye(channel: &Channel) -> Result<(), AriError> {
    let client = channel.client();
    // Subscribe to the playback before starting it: its end cannot be
    // missed.
    let playback = client.playback(client.new_id());
    let leaving = channel.clone();
    playback.on::<PlaybackFinished>(move |_, finished| {
        println!(
            "channel {}: goodbye {}, continuing in the dialplan",
            leaving.id(),
            finished.playback.state
        );
        if let Err(err) = leaving.continue_in_dialplan().send() {
            eprintln!("channel {}: continue: {err}", leaving.id());
        }
    });
    channel
        .play_with_id(playback.id(), "sound:goodbye")
        .send()?;
    Ok(())
}
