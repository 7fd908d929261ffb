"""Run ``merge-nodes -f SRC -t DST`` and SIGKILL ourselves at the N-th write event.

Usage: python crash_runner.py SRC DST N COUNT_FILE [SQL_STEPS [OPTION...]]

Once :func:`mergetool.merge.execute_merge` starts, every call to a file-system primitive a merge
writes with (``os.open``, ``os.replace``, ``os.link``, ``os.unlink``, ``os.rename``,
``os.mkdir``, ``os.fsync``, ``os.write``, ``os.chmod``) and every SQL_STEPS (default 50)
SQLite VM instructions on any connection count as one event. At event N the process kills
itself with SIGKILL, as a power cut or the OOM killer would; with an N never reached the
merge runs to the end and COUNT_FILE receives the number of events and the name of each.
Any OPTIONs are passed on to ``merge-nodes`` (e.g. ``--retire-source``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys

SRC, DST, LIMIT, COUNT_FILE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
SQL_STEPS = int(sys.argv[5]) if len(sys.argv) > 5 else 50
OPTIONS = sys.argv[6:]

armed = False
events: list[str] = []


def tick(name: str) -> None:
    if not armed:
        return
    events.append(name)
    if len(events) == LIMIT:
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap_os(name: str) -> None:
    real = getattr(os, name)

    def wrapper(*args, **kwargs):
        tick(name)
        return real(*args, **kwargs)

    setattr(os, name, wrapper)


for _name in ("open", "replace", "link", "unlink", "rename", "mkdir", "fsync", "write", "chmod"):
    _wrap_os(_name)

_real_connect = sqlite3.connect


def _connect(*args, **kwargs):
    conn = _real_connect(*args, **kwargs)

    def progress() -> int:
        tick("sql")
        return 0

    conn.set_progress_handler(progress, SQL_STEPS)
    return conn


sqlite3.connect = _connect

import mergetool.merge  # noqa: E402  (after the wrappers, so every module sees them)
from mergetool.cli.merge_nodes import main  # noqa: E402

_real_execute = mergetool.merge.execute_merge


def _execute(*args, **kwargs):
    global armed
    armed = True
    try:
        return _real_execute(*args, **kwargs)
    finally:
        armed = False


mergetool.merge.execute_merge = _execute

try:
    main(["-f", SRC, "-t", DST, *OPTIONS])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(COUNT_FILE, "w") as fh:
    fh.write(f"{len(events)}\n" + "\n".join(events) + "\n")
sys.exit(code)
