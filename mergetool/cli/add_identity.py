"""``mergetool add-identity``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.cli._locking import holding, wait_option


@click.command("add-identity", cls=MergetoolCommand)
@click.option(
    "--post-dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="PoST data folder holding identity.key and postdata_metadata.json (from postcli).",
)
@click.option(
    "--to",
    "node",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Node data folder to add the identity to.",
)
@click.option("--name", help="File name in identities/ (default: <node id>.key).")
@click.option(
    "--keep-copy",
    is_flag=True,
    help="Leave identity.key in the PoST folder (default: move it, removing the original "
    "once the installed copy is safely on disk).",
)
@click.option("--dry-run", is_flag=True, help="Check and print what would be done; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@wait_option
def add_identity(
    post_dir: Path,
    node: Path,
    name: str | None,
    keep_copy: bool,
    dry_run: bool,
    as_json: bool,
    wait: bool,
) -> None:
    """Install a postcli identity.key into a node's identities/ folder, checked and atomically."""
    from mergetool.merge.add_identity import execute_add_identity, plan_add_identity

    if dry_run:
        plan = plan_add_identity(post_dir, node, name, keep_copy=keep_copy)
    else:
        with holding(node, wait=wait):
            plan = plan_add_identity(post_dir, node, name, keep_copy=keep_copy)
            execute_add_identity(plan)
    if as_json:
        click.echo(json.dumps(plan.to_dict(installed=not dry_run), indent=2, sort_keys=True))
    elif dry_run:
        verb = "copy" if plan.keep_copy else "move"
        click.echo(f"Would {verb} {plan.key_file} to {plan.target_file} ({plan.node_id}).")
    else:
        verb = "Copied" if plan.keep_copy else "Moved"
        click.echo(f"{verb} {plan.key_file} to {plan.target_file} ({plan.node_id}).")
        click.echo(
            "Restart the node to load it; keep the PoST service for it pointed at this node."
        )
