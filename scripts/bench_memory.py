"""Benchmark: peak memory of `inspect`, a merge dry run and a merge on a large `local.sql`.

Usage: python scripts/bench_memory.py [--size-mb 500] [--workdir DIR] [--json]

Builds a source and a target node with the fixture builder, grows both `prepared_activeset`
tables (what makes real databases large: blobs the node keeps for
itself, never merged) to about SIZE MB, then runs each command in a fresh subprocess and
reads its peak resident set size (`ru_maxrss` of RUSAGE_CHILDREN, so one child per reading).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from mergetool.node.fixtures import build_node

_BLOB = 1 << 20  # rows of 1 MiB, like a large prepared active set

_CLI = ["-c", "import sys; from mergetool.cli.main import main; sys.exit(main(sys.argv[1:]))"]
#: each command in a fresh interpreter; SRC and DST are filled in
COMMANDS = {
    "python + import (baseline)": ["-c", "import mergetool.cli.main, mergetool.merge"],
    "inspect DST": [*_CLI, "inspect", "{dst}"],
    "merge-nodes --dry-run": [*_CLI, "merge", "-f", "{src}", "-t", "{dst}", "--dry-run"],
    "merge-nodes": [*_CLI, "merge", "-f", "{src}", "-t", "{dst}"],
}


def grow(db: Path, size_mb: int) -> None:
    """Add ~``size_mb`` MB of ``prepared_activeset`` rows (random blobs: no compression)."""
    conn = sqlite3.connect(db)
    try:
        for n in range(size_mb):
            conn.execute(
                "INSERT INTO prepared_activeset (kind, epoch, id, weight, data) "
                "VALUES (0, ?, randomblob(32), 1, randomblob(?))",
                (n, _BLOB),
            )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def peak_rss_mb(args: list[str]) -> tuple[float, float, str]:
    """Run one child; its peak RSS in MB (Linux reports KiB), seconds, and its output tail."""
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
        "sys.stderr.write(p.stdout[-300:] + p.stderr[-300:])\n"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, sys.executable, *args], capture_output=True, text=True
    )
    took = time.perf_counter() - start
    kib, rc = proc.stdout.split()
    if rc != "0":
        raise SystemExit(f"{' '.join(args)} failed ({rc}):\n{proc.stderr}")
    return int(kib) / 1024, took, proc.stderr


def run(size_mb: int, workdir: Path | None = None) -> list[dict[str, object]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="mergetool-mem-", dir=workdir) as tmp:
        base = Path(tmp)
        src = build_node(base / "src", identities=["s1", "s2"], prefix="mem-s-")
        dst = build_node(base / "dst", identities=["d1"], prefix="mem-d-")
        grow(src.folder.db_path, size_mb)
        grow(dst.folder.db_path, size_mb)
        db_mb = dst.folder.db_path.stat().st_size / 1e6
        for name, template in COMMANDS.items():
            args = [a.format(src=src.folder.root, dst=dst.folder.root) for a in template]
            rss, took, _ = peak_rss_mb(args)
            results.append({"command": name, "db_mb": round(db_mb), "peak_rss_mb": round(rss)})
            results[-1]["seconds"] = round(took, 1)
        shutil.rmtree(dst.folder.backups_dir, ignore_errors=True)
    return results


@click.command()
@click.option("--size-mb", default=500, show_default=True, help="Approximate database size.")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True)
def main(size_mb: int, workdir: Path | None, as_json: bool) -> None:
    """Peak RSS of inspect, a dry run and a merge on a SIZE-MB target database."""
    results = run(size_mb, workdir)
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    click.echo("| command | local.sql MB | peak RSS MB | seconds |")
    click.echo("|---|---:|---:|---:|")
    for r in results:
        click.echo(f"| {r['command']} | {r['db_mb']} | {r['peak_rss_mb']} | {r['seconds']} |")


if __name__ == "__main__":
    assert os.name == "posix" and hasattr(resource, "RUSAGE_CHILDREN")
    main()
