//! pystrix's FastAGI server: handlers chosen by regex on the script path
//! (in registration order, anchored at the path's start as `re.match`),
//! written in pystrix's shape `(agi, args, kwargs, match, path)`, and a
//! default handler for every other path.
//!
//! ```sh
//! cargo run --example pystrix_fastagi                   # the emulator plays Asterisk
//! cargo run --example pystrix_fastagi -- --addr 127.0.0.1:5038 --username admin --secret wordpass
//! ```
//!
//! Against the emulator, `FastAgiClient` calls `demo?name=World` and
//! `elsewhere`. With `--addr`, the server listens on `--bind` (default
//! 127.0.0.1:4573) and an AMI `Originate` of `Local/200@test` (the test
//! dialplan's `AGI(agi://127.0.0.1:4573/demo?name=World,a,b)`) brings one
//! call. Handler failures (a missing sound, say) are logged on stderr.
//!
//! Exit status: 0 when the calls were served, 1 when the address cannot be
//! bound or a call was not served, 2 on a usage error, 3 when Asterisk
//! cannot be reached.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/logger.rs"]
mod logger;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use astrix::agi::commands::{Answer, Hangup, StreamFile, Verbose};
use astrix::agi::{AgiError, Captures, FastAgiServer, FastAgiSession};
use astrix::ami::actions::Originate;
use astrix::testing::FastAgiClient;

use cli::{Failure, FAILED};

const NAME: &str = "pystrix_fastagi";

fn help() -> String {
    format!(
        "usage: pystrix_fastagi [connection flags] [--bind ADDR]

pystrix's FastAGI server: a regex handler for demo, a default handler for
the rest. Against the emulator, two calls are played; with --addr, an AMI
Originate of Local/200@test brings one call from Asterisk.

  --bind ADDR   address to listen on (default 127.0.0.1:4573 with --addr,
                a free loopback port otherwise)
{}

exit status:
  0  the calls were served
  1  the address cannot be bound, or a call was not served
  2  usage error
  3  no connection: cannot reach Asterisk or log in",
        ami_conn::CONN_HELP
    )
}

/// pystrix's `_demo_handler(agi, args, kwargs, match, path)`.
fn demo_handler(
    agi: &mut FastAgiSession,
    args: &[String],
    kwargs: &HashMap<String, Vec<String>>,
    found: &Captures,
    path: &str,
) -> Result<(), AgiError> {
    println!(
        "demo handler: path {path:?}, matched {:?}, args {args:?}, kwargs {kwargs:?}",
        found.get(0).unwrap_or("")
    );
    agi.execute(&Answer)?;
    agi.execute(&StreamFile::new("demo-thanks"))?;
    agi.execute(&Hangup::new())?;
    Ok(())
}

/// pystrix's `_noop_handler`: the default handler.
fn noop_handler(agi: &mut FastAgiSession, path: &str) -> Result<(), AgiError> {
    println!("default handler: no handler for {path:?}");
    agi.execute(&Verbose::new(format!("no handler for {path}")))?;
    Ok(())
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let help = help();
    let (conn, bind) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let mut bind = None;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--bind") => bind = Some(cli.string("--bind")?),
                _ => conn.take(arg, cli)?,
            }
        }
        Ok((conn.finish()?, bind))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let real = conn.addr.is_some();
    let bind = bind.unwrap_or_else(|| {
        if real {
            "127.0.0.1:4573"
        } else {
            "127.0.0.1:0"
        }
        .to_owned()
    });
    let server = match FastAgiServer::bind(&bind) {
        Ok(s) => s,
        // The error names the address.
        Err(e) => return cli::fail(NAME, FAILED, e),
    };
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    let registered = server.register_script_handler("demo", move |req| {
        count.fetch_add(1, Ordering::SeqCst);
        let (agi, info) = req.parts();
        demo_handler(
            agi,
            info.args(),
            &info.query(),
            info.captures(),
            info.script_path(),
        )
    });
    if let Err(e) = registered {
        return cli::fail(NAME, FAILED, e);
    }
    let count = Arc::clone(&served);
    server.set_default_handler(move |req| {
        count.fetch_add(1, Ordering::SeqCst);
        let (agi, info) = req.parts();
        noop_handler(agi, info.script_path())
    });
    for path in ["demo", "demonstration", "notdemo/x"] {
        let route = server.script_handler(path);
        println!(
            "{path:?} goes to {}",
            match route.as_ref().and_then(|r| r.pattern()) {
                Some(p) => format!("the handler of {p:?}"),
                None => "the default handler".to_owned(),
            }
        );
    }
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    let serving = std::thread::spawn(move || server.serve_forever());
    println!("FastAGI server listening on {addr}");

    let want = if real {
        // A real Asterisk: the test dialplan's 200 runs our demo script.
        let (manager, _) = match conn.connect() {
            Ok(m) => m,
            Err(f) => return f.report(NAME),
        };
        if let Err(f) = conn.login(&manager) {
            return f.report(NAME);
        }
        let call = Originate::to_application("Local/200@test", "Wait")
            .data("5")
            .variable("FASTAGI_PORT", addr.port().to_string());
        if let Err(e) = manager.send_action(&call.async_(true)) {
            return Failure::from(e).report(NAME);
        }
        println!("originated Local/200@test");
        let _ = manager.logoff();
        1
    } else {
        // The emulator: FastAgiClient plays Asterisk.
        for script in ["demo?name=World", "elsewhere"] {
            match FastAgiClient::new().script(script).arg("a").run(addr) {
                Ok(t) => println!("{script}: Asterisk saw {:?}", t.commands),
                Err(e) => println!("{script}: {e}"),
            }
        }
        2
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while served.load(Ordering::SeqCst) < want && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    shutdown.shutdown();
    let _ = shutdown.wait(Duration::from_secs(5));
    if let Ok(Err(e)) = serving.join() {
        return cli::fail(NAME, FAILED, e);
    }
    let n = served.load(Ordering::SeqCst);
    println!("served {n} calls");
    if n < want {
        return cli::fail(NAME, FAILED, format!("{n} of {want} calls served"));
    }
    ExitCode::SUCCESS
}
