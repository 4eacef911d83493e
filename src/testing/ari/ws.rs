//! The events WebSocket of [`AriServer`](super::AriServer): the upgrade
//! checks of `res_http_websocket.c` and `ari_websockets.c`, then a loop that
//! writes queued frames and answers the client's pings and close.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tungstenite::{Error as WsError, Message};

use super::http::{last_value, Request};
use super::model::WsCmd;
use super::reply::{html_error, HttpReply};

/// How often an idle socket looks for frames from the client: a ping is
/// answered within this (Asterisk answers at once; at 50 ms, a client
/// whose keepalive was 50 ms saw its pings unanswered in time about one
/// run in ten).
const POLL: Duration = Duration::from_millis(5);
/// Largest frame and message accepted from a client (which only sends
/// control frames to ARI), instead of tungstenite's 16 and 64 MiB.
const MAX_INCOMING: usize = 1024 * 1024;
/// How long a write may block before the socket counts as dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A WebSocket upgrade that passed the checks.
#[derive(Debug)]
pub(crate) struct Upgrade {
    pub apps: Vec<String>,
    pub subscribe_all: bool,
    /// The `101 Switching Protocols` head.
    pub head: Vec<u8>,
}

/// Checks an upgrade request to `/ari/events` (already authenticated):
/// 426 without `Upgrade: websocket`, 400 for a bad version, key or
/// subprotocol or a missing `app`, 500 for an empty application name.
pub(crate) fn check_upgrade(
    req: &Request,
    query: &[(String, String)],
) -> Result<Upgrade, HttpReply> {
    let upgrade = req.header("Upgrade").unwrap_or("");
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(html_error(426, "Upgrade Required", ""));
    }
    let bad = || {
        html_error(400, "Bad Request", "Unable to process the request.")
            .header("Sec-WebSocket-Version", "7, 8, 13")
    };
    let protocol = match req.header("Sec-WebSocket-Protocol") {
        None => None,
        Some(list) if list.split(',').any(|p| p.trim() == "ari") => Some("ari"),
        Some(_) => return Err(bad()),
    };
    let version = req.header("Sec-WebSocket-Version").unwrap_or("");
    if !["7", "8", "13"].contains(&version.trim()) {
        return Err(bad());
    }
    let key = req.header("Sec-WebSocket-Key").unwrap_or("").trim();
    if key.is_empty() || key.len() > 8000 {
        return Err(bad());
    }
    let get = |name: &str| last_value(query, name);
    let apps = get("app").unwrap_or("");
    if apps.is_empty() {
        return Err(html_error(
            400,
            "Bad Request",
            "HTTP request is missing param: [app]",
        ));
    }
    let apps: Vec<String> = apps.split(',').map(|a| a.trim().to_owned()).collect();
    if apps.iter().any(|a| a.is_empty() || a.len() > 128) {
        return Err(html_error(
            500,
            "Server Error",
            "Failed to create ARI websocket session",
        ));
    }
    let subscribe_all = get("subscribeAll").is_some_and(crate::testing::ast_true);
    let mut head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: {upgrade}\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        tungstenite::handshake::derive_accept_key(key.as_bytes())
    );
    if let Some(p) = protocol {
        head.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    head.push_str("\r\n");
    Ok(Upgrade {
        apps,
        subscribe_all,
        head: head.into_bytes(),
    })
}

fn would_block(e: &WsError) -> bool {
    matches!(e, WsError::Io(io) if matches!(io.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

/// Serves an upgraded connection until it ends, the queue is dropped, or
/// `stop` is set. `tcp` is the socket under `stream` (for timeouts and
/// shutdown; `stream` may be a TLS stream over it).
pub(crate) fn run<S: Read + Write>(
    stream: S,
    leftover: Vec<u8>,
    tcp: &TcpStream,
    rx: &Receiver<WsCmd>,
    stop: &AtomicBool,
) {
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(1)));
    let _ = tcp.set_write_timeout(Some(WRITE_TIMEOUT));
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let mut ws = WebSocket::from_partially_read(stream, leftover, Role::Server, Some(config));
    loop {
        if stop.load(Ordering::Acquire) {
            close(&mut ws, tcp);
            return;
        }
        let first = match rx.recv_timeout(POLL) {
            Ok(cmd) => Some(cmd),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                close(&mut ws, tcp);
                return;
            }
        };
        let mut next = first;
        while let Some(cmd) = next {
            if !perform(&mut ws, tcp, cmd) {
                return;
            }
            next = match rx.try_recv() {
                Ok(c) => Some(c),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => {
                    close(&mut ws, tcp);
                    return;
                }
            };
        }
        if !poll_client(&mut ws, tcp) {
            return;
        }
    }
}

/// Reads what the client sent (pings are answered, a close is echoed);
/// false once the connection is over.
fn poll_client<S: Read + Write>(ws: &mut WebSocket<S>, tcp: &TcpStream) -> bool {
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => {
                let _ = ws.flush();
                let _ = tcp.shutdown(Shutdown::Both);
                return false;
            }
            Ok(_) => {}
            Err(e) if would_block(&e) => {
                return match ws.flush() {
                    Ok(()) => true,
                    Err(e) => would_block(&e),
                };
            }
            Err(e) => {
                log::debug!("AriServer: WebSocket ended: {e}");
                let _ = tcp.shutdown(Shutdown::Both);
                return false;
            }
        }
    }
}

/// Does one queued command; false once the connection is over.
fn perform<S: Read + Write>(ws: &mut WebSocket<S>, tcp: &TcpStream, cmd: WsCmd) -> bool {
    let done = |tcp: &TcpStream| {
        let _ = tcp.shutdown(Shutdown::Both);
        false
    };
    match cmd {
        WsCmd::Text(t) => {
            if let Err(e) = ws.send(Message::text(t)) {
                log::debug!("AriServer: WebSocket write failed: {e}");
                return done(tcp);
            }
            true
        }
        WsCmd::Raw(bytes) => {
            let ok = ws.flush().is_ok()
                && ws.get_mut().write_all(&bytes).is_ok()
                && ws.get_mut().flush().is_ok();
            ok || done(tcp)
        }
        WsCmd::Close => {
            close(ws, tcp);
            false
        }
        WsCmd::Cut => {
            // A text frame announcing 300 bytes, of which 11 arrive.
            let _ = ws.flush();
            let _ = ws.get_mut().write_all(b"\x81\x7e\x01\x2c{\"type\":\"St");
            let _ = ws.get_mut().flush();
            done(tcp)
        }
    }
}

/// A clean close: close frame, the client's answer (briefly), TCP close.
fn close<S: Read + Write>(ws: &mut WebSocket<S>, tcp: &TcpStream) {
    if ws.close(None).is_ok() || ws.flush().is_ok() {
        let end = Instant::now() + Duration::from_millis(500);
        while Instant::now() < end {
            match ws.read() {
                Ok(_) => {}
                Err(e) if would_block(&e) => {
                    let _ = ws.flush();
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => break,
            }
        }
    }
    let _ = tcp.shutdown(Shutdown::Both);
}
