"""Text rendering of merge plans and results. Only the CLI prints."""

from __future__ import annotations

import shlex
from typing import Any

from mergetool.node.versions import describe

#: Plan warnings about running one identity on two nodes: repeated after a merge.
EQUIVOCATION_WARNINGS = ("stop_source", "adopted_supervised")


def _version(number: int) -> str:
    return f"{number} ({describe(number)})"


def render_plan(plan: Any) -> str:
    """The merge plan as the operator reads it (the same object a real run executes)."""
    lines = [f"Merge plan: {plan.source} -> {plan.target}"]
    versions = f"  versions: source {_version(plan.source_version)}"
    if plan.create_target_db:
        versions += f"; target database will be created at version {plan.target_version}"
    else:
        versions += f", target {_version(plan.target_version)}"
    if plan.migrates_source:
        versions += (
            f"; source rows are migrated {plan.source_version} -> "
            f"{plan.target_version} on a private copy"
        )
    lines.append(versions)
    if plan.new_folders:
        lines.append("  new folders (0700): " + ", ".join(str(p) for p in plan.new_folders))
    if plan.recovery is not None:
        lines.append(
            f"  interrupted merge found ({plan.recovery.journal.name}): "
            f"{plan.recovery.action} ({plan.recovery.staged_present} of "
            f"{len(plan.recovery.staged)} key(s) staged)"
            + (
                f", then {len(plan.recovery.retire)} source key(s) it was retiring"
                if plan.recovery.retire
                else ""
            )
        )
    if plan.already_merged and plan.retire:
        lines.append("  status: already merged - only the source's key files are retired")
    elif plan.already_merged:
        lines.append("  status: already merged - nothing to do")
    elif plan.nothing_to_do:
        lines.append("  status: nothing to merge")
    else:
        lines.append(f"  identities to add ({len(plan.keys)}):")
        width = max((len(k.target_name) for k in plan.keys), default=0)
        for k in plan.keys:
            extra = f"  (from {k.source_file.name})" if k.source_file.name != k.target_name else ""
            lines.append(f"    {k.target_name.ljust(width)}  {k.node_id}{extra}")
        rows = ", ".join(f"{t} {n}" for t, n in plan.table_rows) or "none"
        lines.append(f"  rows to copy: {rows}")
        if plan.backup:
            lines.append(f"  backup: {plan.target}/backups/<UTC timestamp>/")
        elif plan.create_target_db:
            lines.append("  backup: not needed (new target)")
        else:
            lines.append("  backup: disabled (--no-backup)")
    if plan.retire_source:
        lines += _render_retire(plan)
    for link in plan.post_data:
        lines.append(f"  PoST data {link.directory} -> {link.identity_file} ({link.node_id})")
    if plan.warnings:
        lines.append("  warnings:")
        lines += [f"    [{w.code}] {w.message}" for w in plan.warnings]
    return "\n".join(lines)


def _render_retire(plan: Any) -> list[str]:
    if not plan.retire:
        return ["  retire source keys: none left in the source's identities/"]
    folder = plan.retire[0].new.parent
    lines = [
        f"  retire source keys after the merge ({len(plan.retire)}), moved into {folder}/ "
        "(the source node skips sub-folders):"
    ]
    lines += [f"    {m.old} -> {m.new}" for m in plan.retire]
    return lines


def _retired_text(result: Any) -> str:
    from mergetool.merge.model import retire_undo  # (mergetool.merge: SQLAlchemy)

    moves = result.keys_retired
    if not moves:
        return ""
    text = f"\nRetired {len(moves)} source key file(s): the source node no longer loads them."
    text += "".join(f"\n  {m.old} -> {m.new}" for m in moves)
    return text + f"\nTo undo, {retire_undo(moves, result.plan.target)}"


def _retire_tip(result: Any) -> str:
    """Merged without --retire-source: the source node would still load these keys."""
    still_held = any(w.code == "stop_source" for w in result.plan.warnings)
    if result.plan.retire_source or not (result.merged or still_held):
        return ""
    return (
        f"\nTip: run the same command with --retire-source to move the merged key files out "
        f"of {result.plan.source / 'identities'}/ so the source node cannot load them again."
    )


def render_sql(plan: Any) -> str:
    """The SQL ``execute`` runs for ``plan``, as a script (``--sql``)."""
    lines = []
    if plan.source_migration:
        lines.append(
            f"-- on a private copy of {plan.source / 'local.sql'}: upgrade "
            f"{plan.source_version} -> {plan.target_version}"
        )
        lines += plan.source_migration
    if plan.copy_sql:
        lines.append(
            f"-- on {plan.target / 'local.sql'}, with that copy attached as src, in one transaction"
        )
        lines += [f"{sql};" for _table, sql in plan.copy_sql]
    return "\n".join(lines) if lines else "-- no SQL to run"


def render_result(result: Any) -> str:
    if result.recovered and result.recovered != "nothing":
        head = f"Finished an interrupted merge ({result.recovered}). "
    else:
        head = ""
    if not result.merged:
        if result.plan.already_merged and result.keys_retired:
            outcome = "Already merged: only the source's key files were retired."
        elif result.plan.already_merged:
            outcome = "Already merged: nothing to do."
        else:
            outcome = "Nothing to merge."
        return head + outcome + _warned_again(result) + _retired_text(result) + _retire_tip(result)
    text = (
        f"{head}Merged {len(result.keys_installed)} identit"
        f"{'y' if len(result.keys_installed) == 1 else 'ies'} and {result.rows_copied} rows "
        f"into {result.plan.target}."
    )
    if result.backup_dir:
        undo = f"mergetool restore {shlex.quote(str(result.plan.target))}"  # pastes as it is
        text += f"\nBackup: {result.backup_dir} (undo with: {undo})"
    return text + _warned_again(result) + _retired_text(result) + _retire_tip(result)


def _warned_again(result: Any) -> str:
    """Said again last, where the operator reads: the plan's copy scrolled away above."""
    return "".join(
        f"\nWarning: {w.message}" for w in result.plan.warnings if w.code in EQUIVOCATION_WARNINGS
    )
