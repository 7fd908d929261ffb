"""``mergetool watch``: is every identity of the node earning, and if not, why and what next?"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from mergetool.cli._errors import MergetoolCommand, as_flags
from mergetool.cli._node_options import (
    FILE,
    connect_timeout_option,
    operator_token_option,
    tls_options,
)
from mergetool.cli.watch_follow import delegated, follow_options


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _span(seconds: float) -> str:
    """``2 d 3 h 10 min``, ``45 min``, ``under a minute`` (whole minutes, rounded down)."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{mins} min" if mins else "",
    ]
    return " ".join(p for p in parts if p)


def render_header(report: Any) -> list[str]:
    """Node sync, current layer/epoch, and the next cycle gap in UTC and local time."""
    lines = []
    node, clock = report.node, report.clock
    if node is None:
        lines.append("Node: no answer from its public listener")
    else:
        epoch = f" (epoch {clock.epoch})" if clock else ""
        lines.append(
            f"Node: {node.sync}, layer {node.current_layer}{epoch}, {node.connected_peers} peers"
        )
    if clock is not None:
        start, end = clock.cycle_gap_start, clock.cycle_gap_end
        if clock.in_cycle_gap:
            what = f"Cycle gap now (epoch {clock.gap_epoch})"
            left = f"ends in {_span((end - clock.now).total_seconds())}"
        else:
            what = f"Next cycle gap (epoch {clock.gap_epoch})"
            left = f"starts in {_span(clock.until_cycle_gap_s)}"
        lines.append(f"{what}: {_when(start)} → {_when(end)}, {left}")
        lines.append(f"  local time: {_local(start)} → {_local(end)}")
    return lines


def _eligible(row: Any) -> str:
    e = row.eligibility
    if e is None:
        return "-"
    return f"{e.slots} slots, {e.proposals} proposal{'' if e.proposals == 1 else 's'}"


def _rewards(row: Any) -> str:
    r = row.rewards
    if r is None:
        return "-"
    last = f"layer {r.last_layer}" if r.last_layer is not None else "never"
    return f"{last}, {r.smh_epoch:g} SMH"


def render_table(report: Any, flags: Any = str) -> list[str]:
    """One row per identity, then the next steps of those that need attention."""
    epoch = report.clock.epoch if report.clock else None
    rewards = f"REWARDS (E{epoch - 1})" if epoch else "REWARDS"
    rows = [["NAME", "NODE ID", "ATX", "ELIGIBLE", rewards, "POST", "VERDICT"]]
    for r in report.identities:
        atx = f"{r.atx.publish_epoch} → {r.atx.target_epoch}" if r.atx else "-"
        post = r.post.describe()
        rows.append([r.name or "-", r.short_id, atx, _eligible(r), _rewards(r), post,
                     flags(r.verdict.text)])  # fmt: skip
    if len(rows) == 1:
        return ["No identities to show."]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in rows
    ]
    steps = [r for r in report.identities if r.verdict.needs_attention and r.verdict.advice]
    if steps:
        lines.append("Next steps:")
        lines += [f"  {r.name or r.short_id}: {flags(r.verdict.advice)}" for r in steps]
    return lines


def render_summary(report: Any) -> str:
    attention = [r for r in report.identities if r.verdict.needs_attention]
    if attention:
        return f"Needs attention: {len(attention)} of {len(report.identities)} identities."
    if report.errors:
        return "Not everything answered (see the errors)."
    if report.node is not None and report.node.sync != "synced":
        return f"The node is {report.node.sync}: it publishes nothing until it is synced."
    return "Every identity is earning or on track."


@click.command("watch", cls=MergetoolCommand)
@click.option(
    "--private",
    metavar="HOST:PORT",
    help="The node's grpc-private-listener (SmesherIDs, events) [127.0.0.1:9093].",
)
@click.option(
    "--public",
    metavar="HOST:PORT",
    help="The node's grpc-public-listener (ATXs, rewards, bans, status) [127.0.0.1:9092].",
)
@click.option(
    "--post",
    metavar="HOST:PORT",
    help="The node's grpc-post-listener (PostStates; https://… with the TLS flags).",
)
@click.option(
    "--operator",
    "operators",
    multiple=True,
    metavar="URL|NAME=URL",
    help="An operator API: URL of a `mergetool serve`, or NAME=URL of a post-rs "
    "service (NAME: its key name or node id). Repeat for each service.",
)
@operator_token_option
@click.option(
    "--config",
    type=FILE,
    help="The node's JSON config: listeners, coinbase and PoET timing from it.",
)
@click.option(
    "--node-dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="The node's data folder: names identities by key file, finds keys the node "
    "has not loaded.",
)
@connect_timeout_option
@tls_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@follow_options
@click.pass_context
def watch_cmd(
    ctx: click.Context,
    private: str | None,
    public: str | None,
    post: str | None,
    operators: tuple[str, ...],
    operator_token: str | None,
    config: Path | None,
    node_dir: Path | None,
    connect_timeout: float,
    ca_cert: Path | None,
    cert: Path | None,
    key: Path | None,
    domain: str | None,
    as_json: bool,
    **follow_flags: Any,
) -> None:
    """Show, per identity of the node, its newest ATX, eligibility, rewards, PoST state and a
    verdict: earning, will earn, missed an epoch, waiting for PoET, proving, PoST failed, not
    loaded, no service, banned.

    Exits 0 when every identity is earning or on track, 1 when any needs attention or a
    listener did not answer.
    """
    from mergetool.nodeapi.address import read_tls
    from mergetool.watch.read import read_watch

    tls = None
    if any((ca_cert, cert, key, domain)) or (post or "").startswith("https://"):
        tls = read_tls(ca_cert, cert, key, domain)
    if delegated(
        ctx, follow_flags, private=private, public=public, post=post, operators=operators,
        operator_token=operator_token, config=config, node_dir=node_dir, tls=tls,
        timeout_s=connect_timeout, as_json=as_json,
    ):  # fmt: skip
        return
    report = read_watch(
        private=private, public=public, post=post, operators=operators,
        operator_token=operator_token, config=config, node_dir=node_dir, tls=tls,
        timeout_s=connect_timeout,
    )  # fmt: skip

    def flags(text: str) -> str:
        return as_flags(ctx, text) or ""

    if as_json:
        doc = report.to_dict()
        doc["errors"] = [flags(e) for e in report.errors]
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        lines = [*render_header(report), *render_table(report, flags), render_summary(report)]
        click.echo("\n".join(lines))
        for error in report.errors:
            click.echo(f"Error: {flags(error)}", err=True)
    ctx.exit(1 if report.needs_attention else 0)
