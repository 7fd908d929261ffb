"""The one place where library errors become a message and an exit code."""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
from typing import Any

import click

from mergetool._exceptions import MergetoolError

_TRACEBACK_HELP = "Show the full Python traceback on errors (for bug reports)."
#: A parameter as library messages name it: `name` or `name=value` in backticks.
_PARAMETER = re.compile(r"`([a-z_][a-z0-9_]*)(?:=([^`]*))?`")
#: Library parameters whose flag is not their name (the CLI spells the choice differently).
_SPELLINGS = {
    "data_size_gib": "--data-size",
    "randomx_fast=True": "--randomx-mode fast",
    "randomx_fast=False": "--randomx-mode light",
}


def _wants(ctx: click.Context, name: str) -> bool:
    c: click.Context | None = ctx
    while c is not None:
        if c.params.get(name):
            return True
        c = c.parent
    return False


def _as_error(exc: BaseException) -> MergetoolError | None:
    """What the user is told: our own errors, and the system's about a named file (a full
    disk, a name too long, a read-only mount are facts about the machine, not bugs)."""
    if isinstance(exc, MergetoolError):
        return exc
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return MergetoolError(f"{where}{exc.strerror}")
    return None


def _options(ctx: click.Context) -> dict[str, click.Option]:
    """The options of the running command and the groups above it, by Python name."""
    found: dict[str, click.Option] = {}
    c: click.Context | None = ctx
    while c is not None:
        for param in c.command.params:
            if isinstance(param, click.Option) and param.name:
                found.setdefault(param.name, param)
        c = c.parent
    return found


def _flag(options: dict[str, click.Option], name: str, value: str | None) -> str:
    """How the command line spells parameter ``name`` (given ``value``, when one is named)."""
    spelled = _SPELLINGS.get(name if value is None else f"{name}={value}")
    if spelled is not None:
        return spelled
    if value == "False" and f"no_{name}" in options:  # backup=False -> --no-backup
        return _flag(options, f"no_{name}", None)
    option = options.get(name)
    long = [o for o in option.opts if o.startswith("--")] if option is not None else []
    flag = long[0] if long else "--" + name.replace("_", "-")
    if value is None or (value == "True" and (option is None or option.is_flag)):
        return flag
    return f"{flag} {value.strip(chr(34))}"


def as_flags(ctx: click.Context, text: str | None) -> str | None:
    """``text`` with every parameter named in it (`from_file`) shown as its flag (--from-file)."""
    if not text:
        return text
    options = _options(ctx)
    return _PARAMETER.sub(lambda m: _flag(options, m[1], m[2]), text)


def _param(ctx: click.Context, name: str) -> Any:
    c: click.Context | None = ctx
    while c is not None:
        if name in c.params:
            return c.params[name]
        c = c.parent
    return None


_BUG = "This is a bug in mergetool; re-run with --traceback and report it."


def _report(ctx: click.Context, exc: BaseException, *, exit_code: int) -> None:
    if _wants(ctx, "traceback"):
        traceback.print_exception(exc, file=sys.stderr)
    error = _as_error(exc)
    text, hint = f"unexpected {type(exc).__name__}: {exc}", None
    if error is not None:
        text, hint = as_flags(ctx, error.message) or "", as_flags(ctx, error.hint)
        if _wants(ctx, "as_json"):
            doc = {**error.to_dict(), "message": text, "hint": hint}
            click.echo(json.dumps(doc, indent=2, sort_keys=True))
    elif not _wants(ctx, "traceback"):
        hint = _BUG
    if _param(ctx, "log_format") == "json":  # a service's stderr: one JSON line per event
        click.echo(json.dumps(_log_line(exc, error, text, hint)), err=True)
    else:
        click.echo(f"Error: {text}" + (f"\n{hint}" if hint else ""), err=True)
    ctx.exit(exit_code)


def _log_line(
    exc: BaseException, error: MergetoolError | None, text: str, hint: str | None
) -> dict[str, Any]:
    from mergetool.serve.events import Event

    kind = type(error if error is not None else exc).__name__
    fields = {"hint": hint, "error": kind}
    return Event(time.time(), "fatal", text, "error", fields=fields).to_dict()


class MergetoolCommand(click.Command):
    """A click command whose failures are rendered without a traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # With --json, a usage error is also a JSON document on stdout (click still prints
        # its usage message on stderr and exits 2).
        as_json = "--json" in args  # (click consumes ``args`` while parsing)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if as_json:
                doc = {"error": "UsageError", "message": exc.format_message(), "hint": None}
                click.echo(json.dumps(doc, indent=2, sort_keys=True))
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MergetoolError as exc:
            _report(ctx, exc, exit_code=exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            _report(ctx, exc, exit_code=1)


class MergetoolGroup(click.Group):
    """A group whose sub-commands share the error boundary above."""

    command_class = MergetoolCommand
    group_class = type


def traceback_option(f: Any) -> Any:
    return click.option("--traceback", is_flag=True, help=_TRACEBACK_HELP)(f)
