"""``mergetool restore``: put a backup made by merge-nodes back (``--dry-run`` shows the plan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mergetool.cli._errors import MergetoolCommand

if TYPE_CHECKING:
    from mergetool.backup.restore import RestorePlan


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "none"


def render_restore_plan(plan: RestorePlan) -> str:
    """The restore plan as the operator reads it (the same object a real run executes)."""
    lines = [
        f"Restore plan: {plan.backup} -> {plan.target}",
        f"  keys to restore: {_names(plan.keys_restored)}",
        "  keys to move aside (never deleted): " + _names(plan.keys_set_aside),
    ]
    if plan.merge_leftovers:
        lines.append(
            "  interrupted merge's files to move aside: "
            + ", ".join(p.name for p in plan.merge_leftovers)
        )
    if plan.replaces_database:
        lines.append("  the current database is kept in backups/displaced-<UTC timestamp>/")
    return "\n".join(lines)


@click.command("restore", cls=MergetoolCommand)
@click.argument("target", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--backup", "backup_name", help="Backup folder name under backups/ (default: newest)."
)
@click.option("--dry-run", is_flag=True, help="Check everything and print the plan; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or outcome as JSON.")
def restore(target: Path, backup_name: str | None, dry_run: bool, as_json: bool) -> None:
    """Put a backup made by merge-nodes back into TARGET (database atomically, then keys)."""
    from mergetool.backup.restore import execute_restore, plan_restore

    plan = plan_restore(target, backup_name)
    if dry_run:
        if as_json:
            click.echo(json.dumps({**plan.to_dict(), "dry_run": True}, indent=2, sort_keys=True))
        else:
            click.echo(render_restore_plan(plan))
            click.echo("Dry run: nothing was written.")
        return
    result = execute_restore(plan)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return
    click.echo(f"Restored {target} from {result.backup}.")
    if result.previous_db:
        click.echo(f"The database it replaced was kept as {result.previous_db}.")
    if result.keys_set_aside:
        click.echo(
            "Key files the backup does not have (or has with other content) were moved, not "
            f"deleted, to {result.set_aside_dir}: " + ", ".join(result.keys_set_aside)
        )
    if result.merge_leftovers:
        click.echo(
            f"The journal and staged keys of an interrupted merge were moved to "
            f"{result.set_aside_dir}: " + ", ".join(result.merge_leftovers)
        )
