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
//! until interrupted). Exit status: 0 when done, 2 on a connection or usage
//! error.

#[allow(dead_code)]
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use astrix::ari::events::{StasisEnd, StasisStart};
use astrix::ari::{AriError, Client, ConnectionState, Event, ReconnectPolicy};
use astrix::testing::AriServer;

const USAGE: &str = "usage: ari_hello [--url http://HOST:8088 --username U --password P] \
[--app NAME] [--calls N]";

struct Options {
    url: Option<String>,
    username: String,
    password: String,
    app: String,
    calls: Option<usize>,
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut o = Options {
        url: None,
        username: "hey".into(),
        password: std::env::var("ASTRIX_ARI_PASSWORD").unwrap_or_else(|_| "peekaboo".into()),
        app: "hello".into(),
        calls: None,
    };
    let mut it = args.into_iter();
    while let Some(k) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{k} needs a value\n{USAGE}"))
        };
        match k.as_str() {
            "--url" => o.url = Some(value()?),
            "--username" => o.username = value()?,
            "--password" => o.password = value()?,
            "--app" => o.app = value()?,
            "--calls" => {
                let v = value()?;
                o.calls = Some(
                    v.parse()
                        .map_err(|_| format!("--calls {v:?}: not a number"))?,
                )
            }
            _ => return Err(format!("unknown argument {k:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = parse(args).map_err(AppError::Usage).and_then(run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ari_hello: {e}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug)]
enum AppError {
    Usage(String),
    Ari(AriError),
    Io(std::io::Error),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Usage(m) => f.write_str(m),
            AppError::Ari(e) => write!(f, "{e}"),
            AppError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<AriError> for AppError {
    fn from(e: AriError) -> Self {
        AppError::Ari(e)
    }
}

fn run(o: Options) -> Result<(), AppError> {
    // Without --url: an emulated Asterisk that places the calls itself.
    let emulator = match o.url {
        Some(_) => None,
        None => Some(
            AriServer::builder()
                .credentials(&o.username, &o.password)
                .start()
                .map_err(AppError::Io)?,
        ),
    };
    let calls = o.calls.or(emulator.as_ref().map(|_| 3));
    let url = match (&o.url, &emulator) {
        (Some(u), _) => u.clone(),
        (None, Some(server)) => server.url(),
        (None, None) => unreachable!("the emulator starts when no URL is given"),
    };

    let client = Client::builder(url.as_str())
        .credentials(o.username.as_str(), o.password.as_str())
        .app(o.app.as_str())
        .reconnect(ReconnectPolicy::new())
        .connect()?;
    println!("connected to {url} as application {}", o.app);

    client.on_any_event(|_, event: &Event| println!("event {}", event.event_type()));
    client.on_connection_state(|state: &ConnectionState| println!("connection {state:?}"));
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
            server.incoming_call(&o.app, &[&format!("call-{i}")]);
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
        None => client.wait_closed()?,
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
