"""``mergetool restore``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mergetool.cli._errors import MergetoolCommand


@click.command("restore", cls=MergetoolCommand)
@click.argument("target", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--backup", "backup_name", help="Backup folder name under backups/ (default: newest)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def restore(target: Path, backup_name: str | None, as_json: bool) -> None:
    """Put a backup made by merge-nodes back into TARGET (database atomically, then keys)."""
    from mergetool.merge.backup import restore as do_restore

    result = do_restore(target, backup_name)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "backup": str(result.backup),
                    "keys_restored": list(result.keys_restored),
                    "keys_set_aside": list(result.keys_set_aside),
                    "set_aside_dir": str(result.set_aside_dir) if result.set_aside_dir else None,
                    "previous_db": str(result.previous_db) if result.previous_db else None,
                    "merge_leftovers": list(result.merge_leftovers),
                },
                indent=2,
                sort_keys=True,
            )
        )
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
