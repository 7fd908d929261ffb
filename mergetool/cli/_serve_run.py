"""Running ``serve`` from the command line: stderr kept to one kind of line, signals,
``--watch-pid`` and ``--pinned-cores`` (the command's options live in ``serve.py``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

#: How often ``--watch-pid`` looks whether the watched process still runs.
WATCH_PID_POLL_S = 1.0


def log_setup(log_format: str) -> None:
    """Keep gRPC's C core quiet but for errors; call before grpc is imported (it reads the
    environment once). In JSON mode every other line on stderr is wrapped (``json_stderr``)."""
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("GRPC_TRACE", "")


@contextlib.contextmanager
def json_stderr() -> Iterator[None]:
    """Every line written to file descriptor 2 (by Python, gRPC's C core or absl) comes out as
    JSON: lines that are JSON already pass through, any other becomes a ``log`` event."""
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    # Our own end is kept for the closing mark: child processes (multiprocessing's resource
    # tracker) hold the pipe open until serve exits, so its end would never be seen.
    mark = b"\x00mergetool-stderr-end-" + os.urandom(8).hex().encode() + b"\n"

    def pump() -> None:
        with os.fdopen(read_end, "rb") as lines, os.fdopen(original, "wb", 0) as out:
            for raw in lines:
                if raw == mark:
                    return
                out.write(_as_json(raw))

    thread = threading.Thread(target=pump, name="stderr-json", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        restored = os.dup(original)
        os.dup2(restored, 2)
        os.close(restored)
        with contextlib.suppress(OSError):
            os.write(write_end, mark)  # every line before it is written out, then the pump ends
        os.close(write_end)
        thread.join(5)


def _as_json(raw: bytes) -> bytes:
    text = raw.decode("utf-8", "replace").rstrip("\n")
    try:
        json.loads(text)
        if text.lstrip().startswith("{"):
            return raw if raw.endswith(b"\n") else raw + b"\n"
    except ValueError:
        pass
    from mergetool.serve.events import Event

    doc = Event(time.time(), "log", text, "warning").to_dict()
    return (json.dumps(doc) + "\n").encode()


def hold_sigterm() -> threading.Event:
    """From now on SIGTERM never kills this process by the signal: it sets the returned event
    (the service stops as soon as it runs), and while the service runs it stops it."""
    got = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: got.set())
    return got


def run_service(
    config: Any, log: Callable[[Any], None], *, pinned_cores: list[int] | None, json_logs: bool,
    early_stop: threading.Event | None = None,
) -> None:  # fmt: skip
    """Run ``Service(config)`` until SIGTERM/SIGINT or until ``config.watch_pid`` ends
    (``early_stop``: from ``hold_sigterm``, set when a SIGTERM came before)."""
    if pinned_cores is not None:
        from mergetool._exceptions import InvalidParameters

        try:
            os.sched_setaffinity(0, pinned_cores)
        except (OSError, ValueError) as exc:
            raise InvalidParameters(
                f"--pinned-cores {','.join(map(str, pinned_cores))}: {exc}",
                hint=f"This machine has cores 0 .. {(os.cpu_count() or 1) - 1}.",
            ) from exc
    early_stop = early_stop or threading.Event()
    try:
        with json_stderr() if json_logs else contextlib.nullcontext():
            _run(config, log, early_stop)
    finally:  # the loop has put SIGTERM back to its default: a second one while exiting
        signal.signal(signal.SIGTERM, lambda signum, frame: None)  # must not kill by signal


def _run(config: Any, log: Callable[[Any], None], early_stop: threading.Event) -> None:
    import asyncio

    from mergetool.serve.service import Service

    service = Service(config, on_event=log)

    async def watch(pid: int) -> None:
        while _alive(pid):
            await asyncio.sleep(WATCH_PID_POLL_S)
        service.watched_process_ended(pid)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.stop)
        if early_stop.is_set():
            service.stop()
        watcher = asyncio.ensure_future(watch(config.watch_pid)) if config.watch_pid else None
        try:
            await service.run()
        finally:
            if watcher is not None:
                watcher.cancel()

    asyncio.run(main())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True
