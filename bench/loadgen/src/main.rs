//! loadgen: plays Asterisk against an AMI client or a FastAGI server under test.
//! Binds and connects only to loopback addresses. See bench/README.md.

mod agi;
mod ami;
mod events;
mod util;

use std::io::Write;

const USAGE: &str = "\
loadgen — plays Asterisk at full speed against a library under test (loopback only)

USAGE:
  loadgen ami-events  --port P --events N [--size-mix realistic] [--seed S]
                      [--trigger ACTION] [--repeat R] [--chunk-kb 256] [--wait-secs 300]
                      [--no-fullybooted]
      Listen on 127.0.0.1:P, accept ONE client, send the banner, answer Login
      (then a FullyBooted event) and every other action (Response: Success,
      ActionID echoed). When the client sends Action: <trigger> (default Login),
      write N pre-generated events in big chunks (the same N events R times with
      --repeat, for clients too fast for N to fill seconds), then `Event: BenchDone`.
      Stops the clock when the client sends `Action: BenchDone`, `Action: Logoff`
      or closes the socket; prints one JSON line (events/s, MB/s, ...).

  loadgen ami-actions --port P [--clients 1] [--max-secs 600] [--no-fullybooted]
      Serve any number of clients (thread per connection); answer Login, and every
      action with `Response: Success / ActionID / Ping: Pong`; CoreShowChannels
      gets a 10-item EventList. Exits when --clients connections have closed (or
      after --max-secs) and prints actions served and actions/s.

  loadgen fastagi --target 127.0.0.1:P --sessions N --concurrency C --commands K
                  [--script bench/path?x=1] [--timeout-ms 10000]
      Act as Asterisk: C threads each open FastAGI sessions (N total), send the
      agi_* environment, answer each command line (200 result=..., 510 for
      unknown commands) until the server closes. Prints sessions/s, commands/s,
      and p50/p90/p99 latency (reply written -> next command received).

  loadgen fastagi-hold --target 127.0.0.1:P --calls C [--script bench/hold]
                       [--timeout-ms 10000]
      Act as Asterisk with C calls open at once (a thread each): open C FastAGI
      sessions together, answer each command until the server closes the call.
      The server sets the pace (bench_fastagi / rust-raw fastagi --hold-secs S
      --interval-ms I: a command every I ms for S s per call). Prints calls ok,
      commands/s (first to last command), and the gap between a reply and the
      next command (the interval plus the server's lateness) and setup times.

  loadgen sample --events N [--seed S]
      Print N generated events to stdout (to inspect the mix).
";

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.len() < 2 || argv[1] == "-h" || argv[1] == "--help" || argv[1] == "help" {
        print!("{USAGE}");
        return;
    }
    let args = match util::Args::parse(&argv[2..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let res = match argv[1].as_str() {
        "ami-events" => ami::events(&args),
        "ami-actions" => ami::actions(&args),
        "fastagi" => agi::fastagi(&args),
        "fastagi-hold" => agi::fastagi_hold(&args),
        "sample" => sample(&args),
        other => Err(format!("unknown sub-command {other:?}")),
    };
    if let Err(e) = res {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

fn sample(args: &util::Args) -> Result<(), String> {
    args.check_known(&["events", "seed"])?;
    let n: u64 = args.num("events", 10)?;
    let seed: u64 = args.num("seed", 42)?;
    let s = events::build(n, seed, 1 << 20);
    std::io::stdout()
        .write_all(&s.buf)
        .map_err(|e| e.to_string())?;
    Ok(())
}
