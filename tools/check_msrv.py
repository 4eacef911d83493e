#!/usr/bin/env python3
"""Checks that no crate astrix builds on asks for a newer Rust than astrix's
own `rust-version` (Cargo.toml). It walks Cargo.lock's resolution through
normal and build dependencies with every feature on (dev-dependencies are
left out: they are not built for users) and prints each crate's declared
`rust-version`. Exit 1 if one is newer than ours, or ours is missing.

    python3 tools/check_msrv.py [-v]
"""
import json
import subprocess
import sys


def version_tuple(v):
    return tuple(int(p) for p in v.split("."))


def main():
    verbose = "-v" in sys.argv[1:]
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    root = next(p for p in meta["packages"] if p["name"] == "astrix")
    ours = root.get("rust_version")
    if not ours:
        print("astrix declares no rust-version")
        return 1
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    seen, todo = set(), [root["id"]]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    newer = []
    for pid in sorted(seen, key=lambda i: packages[i]["name"]):
        p = packages[pid]
        rv = p.get("rust_version")
        if verbose:
            print(f"{p['name']} {p['version']}: {rv or '-'}")
        if rv and version_tuple(rv) > version_tuple(ours):
            newer.append(f"{p['name']} {p['version']} needs Rust {rv}")
    if newer:
        print(f"astrix declares rust-version {ours}, but:")
        for line in newer:
            print("  " + line)
        return 1
    print(f"rust-version {ours}: none of the {len(seen) - 1} crates astrix builds on asks for more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
