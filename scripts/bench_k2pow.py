"""k2pow through `mergetool k2pow-service`: RandomX hashes/s over HTTP, against local k2pow.

Usage: python scripts/bench_k2pow.py [--cores N] [--groups G] [--randomx-mode light|fast]

find_pow returns the smallest solving pow, searched upwards from 0 on one core per job, so a
job costs pow + 1 hashes: the sum over the groups divided by the wall time is the service's
rate. Prints one Markdown table row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import time

from mergetool.k2pow import K2powService, RemoteK2pow
from mergetool.post.pow import find_pow, randomx_vm

TARGET = b"\x04" + b"\xff" * 31  # one hash in 64 solves it: a few seconds per group in light mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--groups", type=int, default=16)
    parser.add_argument("--randomx-mode", choices=["light", "fast"], default="light")
    args = parser.parse_args()
    fast = args.randomx_mode == "fast"
    node_id, challenge = os.urandom(32), os.urandom(32)
    groups = list(range(args.groups))

    started = time.monotonic()
    randomx_vm(fast=fast)
    setup_s = time.monotonic() - started
    started = time.monotonic()
    local = find_pow(0, challenge, node_id, TARGET, fast=fast)
    local_rate = (local + 1) / (time.monotonic() - started)

    with K2powService("127.0.0.1:0", cores=args.cores, fast=fast) as service:
        client = RemoteK2pow(
            f"http://127.0.0.1:{service.address[1]}",
            parallelism=args.cores,
            retry_interval_s=0.05,
        )
        client.solve_groups(node_id, [0], challenge, TARGET)  # the client's own RandomX cache
        started = time.monotonic()
        pows = client.solve_groups(node_id, groups, challenge, TARGET)
        wall = time.monotonic() - started
    hashes = sum(p + 1 for p in pows.values())
    rate = hashes / wall
    print(
        "| mode | cores | groups | hashes | service hashes/s | per core | local 1-core hashes/s "
        "| RandomX setup s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.randomx_mode} | {args.cores} | {args.groups} | {hashes} | {rate:.1f} "
        f"| {rate / args.cores:.1f} | {local_rate:.1f} | {setup_s:.1f} |"
    )


if __name__ == "__main__":
    main()
