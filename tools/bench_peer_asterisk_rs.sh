#!/usr/bin/env bash
# Builds the asterisk-rs peer of the concurrent-actions figure: a tiny tokio
# client on `asterisk-rs-ami = "0.8"` from crates.io (needs the network the
# first time), written into a throwaway folder OUTSIDE the repository, so
# that nothing of it is part of astrix or its lock file.
#
#   tools/bench_peer_asterisk_rs.sh [DIR]
#
# DIR (default: a new `mktemp -d`) receives the crate; the path of the
# release binary is printed on stdout (cargo's notes go to stderr). The
# binary speaks the bench contract of bench/README.md like `rust-raw
# ami-actions --shared`: one shared connection to `loadgen ami-actions` on
# 127.0.0.1:P, T tokio tasks each sending N/T Pings, then one JSON line
# `{"actions": N, "secs": S, "actions_per_s": R}` (N counts the Pings that
# succeeded):
#
#   BIN --port P --threads T --actions N
#
# tools/bench_load.sh runs it beside astrix and the raw client with
# `--with-asterisk-rs`.
set -euo pipefail

dir=${1:-$(mktemp -d)}
mkdir -p "$dir/src"
case $(cd "$dir" && pwd -P)/ in
  "$(cd "$(dirname "$0")/.." && pwd -P)"/*)
    echo "$0: $dir is inside the repository; give a folder outside it" >&2
    exit 2
    ;;
esac

cat >"$dir/Cargo.toml" <<'EOF'
[package]
name = "asrs-bench"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
asterisk-rs-ami = "0.8"
tokio = { version = "1", features = ["full"] }

[profile.release]
debug = false

# Not part of any workspace around the folder.
[workspace]
EOF

cat >"$dir/src/main.rs" <<'EOF'
// The asterisk-rs peer of astrix's concurrent-actions bench: one shared
// asterisk-rs-ami 0.8 connection, T tokio tasks sending Ping, against
// `loadgen ami-actions`.
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port = 5038u16;
    let mut threads = 4usize;
    let mut actions = 100_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().ok_or(format!("{a}: missing value"))?;
        match a.as_str() {
            "--port" => port = v.parse()?,
            "--threads" => threads = v.parse()?,
            "--actions" => actions = v.replace('_', "").parse()?,
            _ => return Err(format!("unknown option {a}").into()),
        }
    }
    let client = asterisk_rs_ami::AmiClient::builder()
        .host("127.0.0.1")
        .port(port)
        .credentials("admin", "wordpass")
        .build()
        .await?;
    let per = actions / threads.max(1);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..threads {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            for _ in 0..per {
                if c.ping().await.is_ok() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"actions\": {ok}, \"secs\": {secs:.3}, \"actions_per_s\": {:.0}}}",
        ok as f64 / secs
    );
    let _ = client.disconnect().await;
    Ok(())
}
EOF

# Its own target folder, whatever CARGO_TARGET_DIR the caller has.
CARGO_TARGET_DIR="$dir/target" cargo build -q --release --manifest-path "$dir/Cargo.toml" >&2
echo "$dir/target/release/asrs-bench"
