"""``mergetool restore``: put a backup made by merge-nodes back (``--dry-run`` shows the plan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.cli._locking import holding, wait_option

if TYPE_CHECKING:
    from mergetool.backup.restore import RestorePlan


#: More names than this are summarised (a restore can move thousands of keys aside).
_SHOWN = 10


def _names(names: tuple[str, ...]) -> str:
    if not names:
        return "none"
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


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
            + _names(tuple(p.name for p in plan.merge_leftovers))
        )
    if plan.replaces_database:
        lines.append("  the current database is kept in backups/displaced-<UTC timestamp>/")
    if plan.source_keys_retired:
        lines.append("  warning: " + retired_text(plan.source_keys_retired, done=False))
    if plan.rows_dropped:
        rows = ", ".join(f"{table} {n}" for table, n in plan.rows_dropped)
        lines.append(
            f"  warning: the current database holds rows the backup does not ({rows}): rows "
            "merged, or written by the node since the backup, are lost by restoring"
        )
    return "\n".join(lines)


def retired_text(paths: tuple[Path, ...], *, done: bool) -> str:
    """Where the source's retired keys of the identities taken out are, and how to undo."""
    from mergetool.merge.model import move_back

    folders = sorted({p.parent for p in paths})
    where = ", ".join(f"{f}/" for f in folders)
    names = _names(tuple(p.name for p in paths))
    now = "now no node loads them" if done else "after the restore no node will load them"
    return (
        f"the source's key files {names} are still retired (merge-nodes --retire-source) in "
        f"{where}, where the source node does not load them: {now}. To merge them again (or "
        "run them on the source node), move them back first: "
        + " && ".join(move_back(f) for f in folders)
    )


@click.command("restore", cls=MergetoolCommand)
@click.argument("target", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--backup", "backup_name", help="Backup folder name under backups/ (default: newest)."
)
@click.option("--dry-run", is_flag=True, help="Check everything and print the plan; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or outcome as JSON.")
@wait_option
def restore(
    target: Path, backup_name: str | None, dry_run: bool, as_json: bool, wait: bool
) -> None:
    """Put a backup made by merge-nodes back into TARGET (database atomically, then keys)."""
    from mergetool.backup.restore import execute_restore, plan_restore

    if dry_run:
        plan = plan_restore(target, backup_name)
        if as_json:
            click.echo(json.dumps({**plan.to_dict(), "dry_run": True}, indent=2, sort_keys=True))
        else:
            click.echo(render_restore_plan(plan))
            click.echo("Dry run: nothing was written.")
        return
    with holding(target, wait=wait):
        result = execute_restore(plan_restore(target, backup_name))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return
    click.echo(f"Restored {target} from {result.backup}.")
    if result.previous_db:
        click.echo(f"The database it replaced was kept as {result.previous_db}.")
    if result.keys_set_aside:
        click.echo(
            "Key files the backup does not have (or has with other content) were moved, not "
            f"deleted, to {result.set_aside_dir}: " + _names(result.keys_set_aside)
        )
    if result.source_keys_retired:
        text = retired_text(result.source_keys_retired, done=True)
        click.echo(text[0].upper() + text[1:])
    if result.merge_leftovers:
        click.echo(
            f"The journal and staged keys of an interrupted merge were moved to "
            f"{result.set_aside_dir}: " + _names(result.merge_leftovers)
        )
