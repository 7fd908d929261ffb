"""Benchmark: merge time for N identities, next to the operator guide's manual sqlite3 recipe.

Usage: python scripts/bench_merge.py [--sizes 1,100,1000,10000] [--json]
The recipe copies the key files and runs ATTACH + one INSERT … SELECT * per table in SQLite:
no checks, no backup, no journal — the floor any careful tool is measured against.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import click

from mergetool.merge import execute_merge, plan_merge
from mergetool.node.fixtures import build_node
from mergetool.node.schema import identity_table_names


def _manual_recipe(src: Path, dst: Path) -> None:
    for key in (src / "identities").glob("*.key"):
        shutil.copyfile(key, dst / "identities" / key.name)
    conn = sqlite3.connect(dst / "local.sql", isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS src", (str(src / "local.sql"),))
    conn.execute("BEGIN")
    for table in identity_table_names(9):
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
    conn.execute("COMMIT")
    conn.close()


def run(identities: list[int], workdir: Path | None = None) -> list[dict[str, float]]:
    """Time a merge of N source identities into a 2-identity target, for each N."""
    results = []
    with tempfile.TemporaryDirectory(prefix="mergetool-bench-", dir=workdir) as tmp:
        base = Path(tmp)
        target = build_node(base / "target", identities=["t-1", "t-2"], prefix="t-")
        for n in identities:
            src = base / f"src-{n}"
            t0 = time.perf_counter()
            build_node(src, identities=[f"s{n}-{i}" for i in range(n)], prefix=f"s{n}-")
            built = time.perf_counter() - t0
            timings = {}
            for label, backup in (("mergetool", True), ("mergetool_no_backup", False)):
                dst = base / f"dst-{n}-{label}"
                shutil.copytree(target.folder.root, dst)
                t0 = time.perf_counter()
                plan = plan_merge(src, dst, backup=backup)
                planned = time.perf_counter() - t0
                execute_merge(plan)
                timings[label] = time.perf_counter() - t0
                timings[f"{label}_plan"] = planned
            dst = base / f"dst-{n}-manual"
            shutil.copytree(target.folder.root, dst)
            t0 = time.perf_counter()
            _manual_recipe(src, dst)
            timings["manual_recipe"] = time.perf_counter() - t0
            results.append({"identities": n, "build_source_s": built, **timings})
            shutil.rmtree(src)
    return results


@click.command()
@click.option("--sizes", default="1,100,1000,10000", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def main(sizes: str, as_json: bool) -> None:
    """Time merges of growing numbers of identities."""
    results = run([int(s) for s in sizes.split(",")])
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    click.echo(
        f"{'identities':>10}  {'mergetool':>10}  {'(plan)':>8}  {'no backup':>10}  {'manual':>8}"
    )
    for r in results:
        click.echo(
            f"{r['identities']:>10}  {r['mergetool']:>9.2f}s  {r['mergetool_plan']:>7.2f}s  "
            f"{r['mergetool_no_backup']:>9.2f}s  {r['manual_recipe']:>7.2f}s"
        )


if __name__ == "__main__":
    main()
