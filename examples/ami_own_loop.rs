//! AMI from your own event loop: [`astrix::ami::Connection`] is the whole
//! client protocol without sockets or threads, so it plugs into any poll
//! loop (mio here), the way obelus's `connection_made` / `data_received` /
//! `connection_lost` do. Bytes read go in, bytes to write come out, and
//! each reply comes back with the tag its action was sent with.
//!
//! ```sh
//! cargo run --example ami_own_loop                       # the emulator
//! cargo run --example ami_own_loop -- --addr 127.0.0.1:5038 --username admin
//! ```
//!
//! Exit status: 0 done, 1 an action refused, 2 usage, 3 no connection.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::io::{ErrorKind, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use astrix::ami::actions::{CoreShowChannels, Logoff, Ping};
use astrix::ami::{AmiError, AuthMethod, Connection, DisconnectReason, Output};
use mio::{net::TcpStream, Events, Interest, Poll, Token};

/// What each reply is for: the tag an action carries on the connection.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Login,
    Ping,
    Channels,
    Logoff,
}

const HELP: &str = "usage: ami_own_loop [--addr HOST:PORT] [--username NAME]

Logs in, sends Ping and CoreShowChannels, logs off, printing what comes,
with the sans-IO astrix::ami::Connection driven from a mio poll loop.
The secret is read from ASTRIX_AMI_SECRET (default: wordpass).

  --addr HOST:PORT    a real Asterisk (default: the built-in emulator)
  --username NAME     the AMI user (default: admin)

exit status:
  0  done
  1  an action was refused
  2  usage error
  3  no connection: cannot connect or log in, or the connection was lost";

fn main() -> ExitCode {
    let (addr, username) = match cli::parse("ami_own_loop", HELP, |cli| {
        let (mut addr, mut username) = (None, "admin".to_owned());
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--addr") => addr = Some(cli.string("--addr")?),
                Some("--username") => username = cli.string("--username")?,
                _ => return Err(arg.unexpected()),
            }
        }
        Ok((addr, username))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let secret = std::env::var("ASTRIX_AMI_SECRET").unwrap_or_else(|_| "wordpass".into());
    // Without --addr, the emulator (kept alive until the end).
    let emulator = match addr {
        Some(_) => None,
        None => match astrix::testing::AmiServer::start() {
            Ok(s) => Some(s),
            Err(e) => return cli::fail("ami_own_loop", cli::FAILED, e),
        },
    };
    let addr = addr.unwrap_or_else(|| emulator.as_ref().map(|s| s.addr()).unwrap_or_default());
    match run(&addr, &username, &secret) {
        Ok(code) => code,
        Err(e) => cli::fail("ami_own_loop", cli::NO_CONNECTION, e),
    }
}

fn run(addr: &str, username: &str, secret: &str) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;
    let mut sock = TcpStream::connect(addr.parse()?)?;
    poll.registry()
        .register(&mut sock, Token(0), Interest::READABLE | Interest::WRITABLE)?;
    let mut events = Events::with_capacity(16);
    let mut conn: Connection<Tag> = Connection::new();
    let (mut buf, mut waiting, mut code) = ([0u8; 16 * 1024], 0, ExitCode::SUCCESS);
    loop {
        // Sleep until the socket is ready or the connection's next deadline.
        let wait = conn.poll_timeout().map_or(Duration::from_secs(1), |t| {
            t.saturating_duration_since(Instant::now())
        });
        poll.poll(&mut events, Some(wait))?;
        // data_received / connection_lost: read until the socket is empty.
        loop {
            match sock.read(&mut buf) {
                Ok(0) => {
                    conn.connection_lost(DisconnectReason::Eof);
                    break;
                }
                Ok(n) => conn.feed(&buf[..n], Instant::now()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected) => {
                    break
                }
                Err(e) => return Err(e.into()),
            }
        }
        conn.handle_timeout(Instant::now());
        while let Some(output) = conn.poll_output() {
            let now = Instant::now();
            match output {
                Output::Connected(version) => {
                    println!("connected: AMI {version}");
                    conn.login(username, &secret.into(), AuthMethod::Auto, Tag::Login, now)?;
                }
                Output::Reply { tag, result, .. } => {
                    match (tag, result) {
                        (Tag::Login, Ok(_)) => {
                            println!("logged in as {username}");
                            conn.send(&Ping, Tag::Ping, now)?;
                            conn.send(&CoreShowChannels, Tag::Channels, now)?;
                            waiting = 2;
                            continue;
                        }
                        (Tag::Logoff, _) => continue,
                        (Tag::Ping, Ok(r)) => println!("ping: {}", r.get("Ping").unwrap_or("?")),
                        (Tag::Channels, Ok(r)) => println!("{} channels up", r.events.len()),
                        (_, Err(e @ AmiError::ActionFailed(_))) => {
                            println!("refused: {e}");
                            code = ExitCode::from(cli::FAILED);
                        }
                        (_, Err(e)) => return Err(e.into()),
                    }
                    waiting -= 1;
                    if waiting == 0 {
                        conn.send(&Logoff, Tag::Logoff, now)?;
                    }
                }
                Output::Event(e) => println!("event: {}", e.event_name().unwrap_or("?")),
                Output::Close(e) => return Err(e.into()),
                Output::Lost(DisconnectReason::LoggedOff) => return Ok(code),
                Output::Lost(reason) => return Err(reason.into()),
                _ => {}
            }
        }
        // Write what the connection has to send, as far as the socket takes it.
        while !conn.transmit().is_empty() {
            match sock.write(conn.transmit()) {
                Ok(n) => conn.advance_transmit(n),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected) => {
                    break
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
