"""``merge-nodes --from SRC --to DST``: the reference tool's interface, done safely."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from mergetool import __version__
from mergetool._exceptions import MergetoolError, UsageProblem
from mergetool._fs import write_file_atomic
from mergetool.cli._errors import MergetoolCommand, traceback_option
from mergetool.cli._locking import holding, wait_option
from mergetool.cli._signals import sigterm_raises
from mergetool.cli.progress import progress_bar
from mergetool.cli.render_merge import render_plan, render_result, render_sql

_REPORT_STATUSES = {"ready", "merged", "already-merged", "nothing-to-do", "refused", "failed"}


def _is_a_report(path: Path) -> bool:
    """Whether ``path`` holds a merge-nodes report (which a new one may replace)."""
    try:
        with path.open("rb") as fh:
            doc = json.loads(fh.read(1 << 22))
    except (OSError, ValueError, RecursionError):
        return False
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("format"), int)
        and doc.get("status") in _REPORT_STATUSES
        and {"source", "target"} <= doc.keys()
    )


def _check_report_path(report: Path, source: Path, target: Path) -> None:
    """Refuse a --report path before anything happens: it must be a new or regular file that
    can be written, outside both node folders (a report must never replace a key or a database).
    """
    try:
        info = report.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:  # e.g. a name too long for the file system
        raise UsageProblem(f"{report}: cannot write the report here ({exc.strerror})") from exc
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise UsageProblem(
            f"{report}: exists and is not a regular file; the report would replace it",
            hint="Give the path of a new file (or of an earlier report).",
        )
    if not report.parent.is_dir():
        raise UsageProblem(f"{report}: the folder {report.parent} does not exist")
    where = report.parent.resolve() / report.name
    for side, folder in (("source", source), ("target", target)):
        if where.is_relative_to(folder.resolve()):
            raise UsageProblem(
                f"{report}: the report would be written inside the {side} folder {folder}",
                hint="Write it outside both node folders, e.g. --report merge-report.json.",
            )
    if info is not None and not _is_a_report(report):
        raise UsageProblem(
            f"{report}: exists and is not a merge-nodes report; the report would replace it",
            hint="Give the path of a new file (or of an earlier report), or --report - to write "
            "it to standard output.",
        )
    try:  # can a file be created there at all? (read-only mount, permissions, /proc, ...)
        fd, probe = tempfile.mkstemp(prefix=".mergetool-probe-", dir=report.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageProblem(
            f"{report}: cannot write the report in {report.parent} ({exc.strerror or exc})"
        ) from exc


def _refusal(
    source: Path, target: Path, exc: Any, *, dry_run: bool, status: str = "refused"
) -> dict[str, Any]:
    from mergetool.merge.model import REPORT_FORMAT_VERSION  # (mergetool.merge: SQLAlchemy)

    return {
        "format": REPORT_FORMAT_VERSION,
        "source": str(source),
        "target": str(target),
        "dry_run": dry_run,
        "status": status,
        **exc.to_dict(),
    }


def _write_report(path: Path, data: dict[str, Any]) -> str | None:
    """Write the report; after a merge a failure must not hide that the merge is done, so it
    is returned (for a warning) rather than raised."""
    try:
        write_file_atomic(
            path,
            (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(),
            mode=0o644,
            folder_owner=False,
        )
    except OSError as exc:
        return f"{path}: cannot write the report ({exc.strerror or exc})"
    return None


@click.command(
    "merge-nodes", cls=MergetoolCommand, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--from",
    "-f",
    "source",
    required=True,
    type=click.Path(path_type=Path),
    help="Source node data folder (read only; never modified).",
)
@click.option(
    "--to",
    "-t",
    "target",
    required=True,
    type=click.Path(path_type=Path),
    help="Target node data folder (created if missing).",
)
@click.option("--dry-run", is_flag=True, help="Check everything and print the plan; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan/result as JSON on stdout.")
@click.option(
    "--sql", "show_sql", is_flag=True, help="Also print the SQL statements the merge runs."
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Also write the plan/result as JSON to this file ('-': standard output, as --json).",
)
@click.option("--no-backup", is_flag=True, help="Do not back up the target before merging.")
@click.option(
    "--post-data",
    "post_data",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="A PoST data folder that must belong to an identity of the merged node (repeatable).",
)
@click.option(
    "--adopt-supervised",
    is_flag=True,
    help="Install a supervised source's local.key as <node id>.key in the target.",
)
@click.option(
    "--retire-source",
    is_flag=True,
    help="After the merge, move the merged key files of SRC into "
    "SRC/identities/merged-<UTC timestamp>/, where the source node no longer loads them.",
)
@wait_option
@click.version_option(__version__, "--version", prog_name="merge-nodes")
@traceback_option
def merge_cmd(
    source: Path,
    target: Path,
    dry_run: bool,
    as_json: bool,
    show_sql: bool,
    report: Path | None,
    no_backup: bool,
    post_data: tuple[Path, ...],
    adopt_supervised: bool,
    retire_source: bool,
    wait: bool,
    traceback: bool,
) -> None:
    """Merge the identities of the node at SRC into the node at DST, all or nothing.

    Exit status: 0 merged (or nothing to do), 1 refused or failed (nothing changed), 2 bad usage.
    """
    from mergetool.merge import plan_merge  # (SQLAlchemy: not for --help)

    if report == Path("-"):  # the report on standard output is the --json document
        report, as_json = None, True
    if report is not None:
        _check_report_path(report, source, target)
    with contextlib.ExitStack() as lock:
        try:
            made: tuple[Path, ...] = ()
            if not dry_run:  # (a dry run writes nothing, not even a lock file)
                made = lock.enter_context(holding(target, wait=wait, create=True))
            plan = plan_merge(
                source,
                target,
                adopt_supervised=adopt_supervised,
                backup=not no_backup,
                post_data=post_data,
                retire_source=retire_source,
            )
            if made:  # made to hold the lock: the plan says they are new all the same
                plan = dataclasses.replace(plan, new_folders=made)
        except MergetoolError as exc:
            if report:  # a refusal is an outcome too: scripts read the report, not stderr
                _write_report(report, _refusal(source, target, exc, dry_run=dry_run))
            raise
        if not as_json:
            click.echo(render_plan(plan))
            if show_sql:
                click.echo(render_sql(plan))
        if dry_run:
            _finish_dry_run(plan, report, as_json=as_json)
        else:
            _run(plan, report, as_json=as_json)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so that it is reported like Ctrl-C."""


def _finish_dry_run(plan: Any, report: Path | None, *, as_json: bool) -> None:
    data = {**plan.to_dict(), "dry_run": True}
    if report and (problem := _write_report(report, data)):
        raise MergetoolError(problem)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo("Dry run: nothing was written.")
        if not plan.nothing_to_do:
            click.echo("To merge, run the same command without --dry-run.")
        elif plan.retire:
            click.echo("To retire them, run the same command without --dry-run.")


def _run(plan: Any, report: Path | None, *, as_json: bool) -> None:
    """Execute ``plan``; the outcome goes to the report (also on failure) and to stdout."""
    from mergetool.merge import execute_merge

    try:
        with (
            sigterm_raises(lambda _: _Terminated()),
            progress_bar(enabled=not as_json and len(plan.identities) > 100) as progress,
        ):
            result = execute_merge(plan, progress=progress)
    except KeyboardInterrupt as exc:
        click.echo(
            f"Interrupted: the merge into {plan.target} may be unfinished (a journal, staged "
            "keys or a backup may be left there). Run the same command again: it finishes or "
            "undoes it.",
            err=True,
        )
        sys.exit(143 if isinstance(exc, _Terminated) else 130)
    except MergetoolError as exc:
        if report:
            refusal = _refusal(plan.source, plan.target, exc, dry_run=False, status="failed")
            _write_report(report, refusal)
        raise
    data = {**result.to_dict(), "dry_run": False}
    problem = _write_report(report, data) if report else None
    if problem:
        data["report_error"] = problem
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo(render_result(result))
    if problem:
        click.echo(f"Warning: {problem}; the merge itself is complete.", err=True)


def main(argv: list[str] | None = None) -> Any:
    return merge_cmd.main(args=argv, prog_name="merge-nodes")
