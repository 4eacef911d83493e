//! A terminal view of what is happening on the PBX now: active channels
//! (who talks to whom), bridges and queues, from `astrix::live`, printed
//! again whenever the state changes (at most every `--every-ms`).
//!
//! ```sh
//! cargo run --example live_calls -- --seconds 5     # the emulator plays a few calls
//! cargo run --example live_calls -- --addr 127.0.0.1:5038 --username admin
//! ```

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use astrix::ami::actions::Originate;
use astrix::live::{Live, State};

const NAME: &str = "live_calls";

fn help() -> String {
    format!(
        "usage: live_calls [connection flags] [--seconds N] [--every-ms M]

Shows the active channels, bridges and queues, printed again when they
change (at most every M ms, default 500), for N seconds (default: until
Ctrl-C or the end of the connection). Against the built-in emulator, a few
calls are placed so that there is something to see.

  --seconds N         stop after N seconds
  --every-ms M        refresh at most every M ms

{}

exit status:
  0  done
  1  the live state could not be read (a list action refused)
  2  usage error
  3  no connection: cannot connect or log in",
        ami_conn::CONN_HELP
    )
}

fn main() -> ExitCode {
    let help = help();
    let (conn, seconds, every) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let (mut seconds, mut every) = (None, 500u64);
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--seconds") => seconds = Some(cli.number::<u64>("--seconds")?),
                Some("--every-ms") => every = cli.number("--every-ms")?,
                _ => conn.take(arg, cli)?,
            }
        }
        Ok((conn.finish()?, seconds, every.max(1)))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let (manager, emulator) = match conn.connect() {
        Ok(m) => m,
        Err(f) => return f.report(NAME),
    };
    if let Err(f) = conn.login(&manager) {
        return f.report(NAME);
    }
    let live = match Live::start(&manager) {
        Ok(l) => l,
        Err(e) => return cli::fail(NAME, cli::FAILED, e),
    };
    let changed = Arc::new(AtomicBool::new(true));
    let c = changed.clone();
    live.on_change(move |_| c.store(true, Ordering::Release));
    if emulator.is_some() {
        // Something to watch: an answered call, a bridged pair, a queue call.
        for (chan, exten) in [
            ("Local/100@test", "100"),
            ("Local/600@test", "600"),
            ("Local/500@test", "500"),
        ] {
            let o = Originate::to_extension(chan, "test", exten, 1).async_(true);
            if let Err(e) = manager.send_action(&o) {
                eprintln!("{NAME}: originate {chan}: {e}");
            }
        }
    }
    let end = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    while manager.is_connected() && end.is_none_or(|t| Instant::now() < t) {
        if changed.swap(false, Ordering::AcqRel) {
            print!("{}", render(&live.snapshot()));
        }
        std::thread::sleep(Duration::from_millis(every));
    }
    if manager.is_connected() {
        let _ = manager.logoff();
    }
    ExitCode::SUCCESS
}

/// One screen of the state.
fn render(s: &State) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "== {} channels, {} bridges",
        s.channels.len(),
        s.bridges.len()
    );
    for ch in s.channels.values() {
        let known = |v: &str| !v.is_empty() && v != "<unknown>";
        let talking_to = if known(&ch.connected_line_name) || known(&ch.connected_line_num) {
            format!(" <-> {} {}", ch.connected_line_name, ch.connected_line_num)
        } else {
            String::new()
        };
        let bridge = ch
            .bridge
            .as_ref()
            .map(|b| format!(" [bridge {b}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {:?} {}@{}{talking_to}{bridge}",
            ch.name, ch.state, ch.exten, ch.context
        );
    }
    for b in s.bridges.values() {
        // Bridges list their channels by unique id: show their names.
        let members: Vec<&str> = b
            .channels
            .iter()
            .map(|id| match s.channels.values().find(|c| c.uniqueid == *id) {
                Some(c) => c.name.as_str(),
                None => id.as_str(),
            })
            .collect();
        let _ = writeln!(
            out,
            "  bridge {} ({}): {}",
            b.id,
            b.technology,
            members.join(", ")
        );
    }
    for q in s.queues.values() {
        let _ = writeln!(
            out,
            "  queue {}: {} members, {} waiting",
            q.name,
            q.members.len(),
            q.callers.len()
        );
        for c in q.callers_in_order() {
            let _ = writeln!(
                out,
                "    #{} {} waiting {:?}",
                c.position,
                c.channel,
                c.wait()
            );
        }
    }
    out
}
