"""``mergetool check NODE_DIR``: offline findings about a multi-identity setup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.post.params import PRESETS

_LEVEL_LABEL = {"error": "ERROR  ", "warning": "WARNING", "note": "NOTE   "}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(report: Any) -> str:
    """The findings, one per line (errors first), then a one-line verdict."""
    lines = [f"Checked {report.node_dir} (preset {report.preset})"]
    order = {"error": 0, "warning": 1, "note": 2}
    for finding in sorted(report.findings, key=lambda f: order[f.level]):
        lines.append(f"{_LEVEL_LABEL[finding.level]} [{finding.code}] {finding.message}")
    counts = ", ".join(
        _plural(report.count(level), level) for level in ("error", "warning", "note")
    )
    verdict = "no errors" if report.ok else "fix the errors before smeshing"
    lines.append(f"{counts}: {verdict}.")
    return "\n".join(lines)


@click.command("check", cls=MergetoolCommand)
@click.argument("node_dir", type=click.Path(path_type=Path))
@click.option(
    "--config",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The node's JSON config file (checked for smeshing-start, coinbase, post listener…).",
)
@click.option(
    "--dir",
    "post_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A PoST data folder of this node (repeat for each; every key needs exactly one).",
)
@click.option(
    "--against",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Another node's `mergetool inspect --json` output: no identity may be on both nodes.",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default="mainnet",
    show_default=True,
    help="Network parameters the config and data must match (test: tiny values, no post.* check).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
def check_cmd(
    ctx: click.Context,
    node_dir: Path,
    config: Path | None,
    post_dirs: tuple[Path, ...],
    against: tuple[Path, ...],
    preset: str,
    as_json: bool,
) -> None:
    """Check a multi-identity node offline: config, keys and PoST data, other nodes' identities.

    Exits 0 when no finding is an error, 1 otherwise. Reads only.
    """
    from mergetool.check.setup import check_setup

    report = check_setup(
        node_dir, config=config, post_dirs=post_dirs, against=against, preset=preset
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(render_text(report))
    ctx.exit(0 if report.ok else 1)
