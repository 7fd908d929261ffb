"""``mergetool status --node HOST:PORT``: is each PoST service safe to stop?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mergetool._exceptions import UsageProblem
from mergetool.cli._errors import MergetoolCommand, as_flags
from mergetool.cli._node_options import (
    Seconds,
    connect_timeout_option,
    operator_token_option,
    tls_options,
)


def render_text(report: Any) -> str:
    """A table (name, short node id, node state, service state, safe to stop), a verdict."""
    rows = [["NAME", "NODE ID", "NODE", "SERVICE", "SAFE TO STOP"]]
    for ident in report.identities:
        verdict = "yes" if ident.safe_to_stop else f"no: {ident.reason}"
        node_id = ident.node_id.hex()
        rows.append(
            [
                ident.name or "-",
                f"{node_id[:8]}…{node_id[-4:]}",
                ident.node_state or ("not listed" if ident.node_answered else "no answer"),
                ident.service_state,
                verdict,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        for r in rows
    ]
    if len(rows) == 1:
        lines = ["No identities to show."]
    if report.errors:
        lines.append("Not safe to stop: not everything answered (see the errors).")
    elif report.safe_to_stop:
        lines.append("Safe to stop: every identity.")
    else:
        lines.append("Not safe to stop yet.")
    return "\n".join(lines)


def _progress(report: Any) -> None:
    """One poll of --wait-safe: how many may stop, then each identity that blocks, and why."""
    if not report.safe_to_stop:
        safe = sum(1 for i in report.identities if i.safe_to_stop)
        errors = f", {len(report.errors)} error(s)" if report.errors else ""
        click.echo(f"waiting: {safe} of {len(report.identities)} safe to stop{errors}", err=True)
        for ident in report.identities:
            if not ident.safe_to_stop:
                name = ident.name or ident.node_id.hex()
                click.echo(f"  {name}: {ident.reason}", err=True)
        for error in report.errors:
            click.echo(f"  error: {error}", err=True)


def _seconds(value: float) -> str:
    return f"{value:g} s"


@click.command("status", cls=MergetoolCommand)
@click.option(
    "--node",
    required=True,
    metavar="HOST:PORT",
    help="The node's post listener (api.grpc-post-listener; https://… with the TLS flags).",
)
@click.option(
    "--operator",
    "operators",
    multiple=True,
    metavar="URL|NAME=URL",
    help="An operator API: URL of a `mergetool serve`, or NAME=URL of a post-rs service "
    "(NAME: its key file name or node id). Repeat for each service.",
)
@operator_token_option
@click.option("--wait-safe", is_flag=True, help="Poll until every identity is safe to stop.")
@click.option(
    "--timeout",
    "wait_s",
    type=Seconds(min=0),
    default=3600.0,
    show_default=True,
    help="With --wait-safe: give up (exit 1) after this many seconds.",
)
@click.option(
    "--interval",
    type=Seconds(min=0.1, max=3600),
    default=5.0,
    show_default=True,
    help="With --wait-safe: seconds between polls.",
)
@connect_timeout_option
@tls_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def status_cmd(
    ctx: click.Context,
    node: str,
    operators: tuple[str, ...],
    operator_token: str | None,
    wait_safe: bool,
    wait_s: float,
    interval: float,
    connect_timeout: float,
    ca_cert: Path | None,
    cert: Path | None,
    key: Path | None,
    domain: str | None,
    as_json: bool,
) -> None:
    """Show what the node and each PoST service are doing and whether each service is safe to
    stop (the node IDLE for it, and the service neither proving nor holding an unfetched proof).

    Exits 0 when everything answered (with --wait-safe: when every identity is safe to stop),
    1 otherwise: `mergetool status --node … --wait-safe && systemctl stop …`.
    """
    from mergetool.nodeapi.address import read_tls
    from mergetool.status.read import read_status
    from mergetool.status.read import wait_safe as wait

    given = [
        flag
        for name, flag in (("wait_s", "--timeout"), ("interval", "--interval"))
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    ]
    if given and not wait_safe:
        raise UsageProblem(
            f"{' and '.join(given)} only apply with --wait-safe "
            "(--connect-timeout bounds the wait for each answer)"
        )
    tls = None
    if any((ca_cert, cert, key, domain)) or node.startswith("https://"):
        tls = read_tls(ca_cert, cert, key, domain)
    if wait_safe:
        report = wait(
            node,
            operators=operators,
            operator_token=operator_token,
            tls=tls,
            timeout_s=connect_timeout,
            wait_s=wait_s,
            interval_s=interval,
            on_poll=None if as_json else _progress,
        )
    else:
        report = read_status(
            node,
            operators=operators,
            operator_token=operator_token,
            tls=tls,
            timeout_s=connect_timeout,
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(render_text(report))
        for error in report.errors:
            click.echo(f"Error: {as_flags(ctx, error)}", err=True)
        if wait_safe and not report.safe_to_stop:
            click.echo(f"Not safe to stop: timed out after {_seconds(wait_s)}.", err=True)
    if wait_safe:
        ctx.exit(0 if report.safe_to_stop else 1)
    ctx.exit(1 if report.errors else 0)
