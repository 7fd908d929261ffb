"""``mergetool inspect DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mergetool.cli._errors import MergetoolCommand


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render_text(report: object) -> str:
    from mergetool.node.inspect import NodeReport

    assert isinstance(report, NodeReport)
    lines = [f"Node data folder: {report.path}"]
    lines.append(f"Schema version:   {report.user_version} ({report.releases})")
    if report.version_problem:
        lines.append(f"  problem: {report.version_problem}")
    if not report.drift_checked:
        drift = "not checked (no known schema for this version)"
    else:
        drift = "DRIFTED" if report.drift_diff else "none"
    lines.append("Schema drift:     " + drift)
    if report.drift_diff:
        lines += ["    " + line for line in report.drift_diff.splitlines()]
    lines.append("")
    tables = sorted(
        {t for i in report.identities for t in i.rows}
        | {t for rows in report.orphan_rows.values() for t in rows}
    )
    header = ["FILE", "NODE ID", "STATUS", *tables]
    body = [header]
    for ident in report.identities:
        status = "valid" if ident.valid else f"INVALID: {ident.problem}"
        if ident.supervised:
            status += " (supervised)"
        body.append(
            [ident.file, ident.node_id or "-", status, *(str(ident.rows.get(t, 0)) for t in tables)]
        )
    for node_id, rows in report.orphan_rows.items():
        body.append(["(no key file)", node_id, "rows only", *(str(rows.get(t, 0)) for t in tables)])
    if len(body) == 1:
        lines.append("No identities.")
    else:
        lines += _table(body)
    lines.append("")
    if report.warnings:
        lines.append("Warnings:")
        lines += [f"  [{w.code}] {w.message}" for w in report.warnings]
    else:
        lines.append("No warnings.")
    return "\n".join(lines)


@click.command("inspect", cls=MergetoolCommand)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the report as JSON (format documented in README).",
)
def inspect_cmd(directory: Path, as_json: bool) -> None:
    """Show a node data folder: schema version, drift, identities, rows and warnings."""
    from mergetool.node.inspect import inspect_node

    report = inspect_node(directory)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(render_text(report))
