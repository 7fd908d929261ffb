"""Constants shared by the serve tests (import this, not conftest: conftest names collide)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.schema_check import assert_valid

ATX_ID = bytes(range(32, 64))
#: Node ids of the identities the tests serve (any 32 bytes do: no key file is needed).
NODE_IDS = [bytes([i]) * 32 for i in (1, 2, 3)]
UNITS = 2
FILE_SIZE = 2048  # 128 labels per file: 4 files for 2 units of the test preset


class Running:
    """A Service running on its own event loop in a thread; ``stop()`` waits for it to end."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.events: list[Any] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self.service.run())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def start(self, timeout: float = 30.0) -> Running:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.service.ready.is_set():
            if not self._thread.is_alive():
                raise AssertionError(f"the service ended before it was ready: {self.error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("the service did not get ready")
            time.sleep(0.01)
        return self

    def join(self, timeout: float = 20.0) -> BaseException | None:
        """Wait for the service to end by itself; the error it ended with."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the service did not end"
        return self.error

    def stop(self, timeout: float = 20.0) -> None:
        self.service.stop()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the service did not stop"

    @property
    def solver(self) -> Any:
        return self.service.solver

    def wait_event(self, kind: str, count: int = 1, timeout: float = 30.0) -> Any:
        """The ``count``-th event of ``kind`` (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if e.kind == kind]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {kind!r} event #{count}; got {self.kinds()}")
            time.sleep(0.01)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def get(self, path: str) -> Any:
        """GET ``path`` from the operator API: (status, parsed JSON or text)."""
        host, port = self.service.operator_address
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            body, status = exc.read(), exc.code
        try:
            doc = json.loads(body)
        except ValueError:
            return status, body.decode()
        if status == 200 and path == "/identities":  # the documented answer (not /status:
            assert_valid(doc, "serve-identities")  # post-rs's shape, no schema of ours)
        return status, doc


class GatedSolver:
    """The service's own RandomX host, held at a gate: k2pow starts once ``gate`` is set.

    Keeps a run "mid-proof" for as long as a test needs (tiny data passes take ms).
    """

    def __init__(self, host: Any) -> None:
        self.host, self.gate = host, threading.Event()
        self.calls: list[tuple[bytes, bytes]] = []
        self.waiting = threading.Event()

    def solve_groups(self, node_id: bytes, groups: list[int], challenge: bytes, target: bytes,
                     *, cancelled: Any, on_group: Any = None) -> dict[int, int]:  # fmt: skip
        from mergetool.serve.workers import Cancelled

        self.calls.append((node_id, challenge))
        self.waiting.set()
        while not self.gate.wait(0.02):
            if cancelled():
                raise Cancelled
        return self.host.solve_groups(
            node_id, groups, challenge, target, cancelled=cancelled, on_group=on_group
        )


@contextmanager
def serving(config: Any, *, gated: bool = False, **kw: Any) -> Iterator[Running]:
    """Run ``Service(config, **kw)`` for the block (events collected); always stopped.

    ``gated``: k2pow waits for ``running.solver.gate`` (see GatedSolver).
    """
    from mergetool.serve.service import Service

    box: list[Any] = []
    service = Service(config, on_event=lambda e: box.append(e), **kw)
    if gated:
        service.solver = GatedSolver(service.host)
    running = Running(service)
    running.events = box
    running.start()
    try:
        yield running
    finally:
        running.stop()


def config_for(address: str, dirs: list[Path], **options: Any) -> Any:
    """A ServeConfig for the test preset, reconnecting every 0.1 s, operator API on port 0."""
    from mergetool.post.params import PRESETS
    from mergetool.serve.config import plan_serve

    options = {
        "reconnect_interval_s": 0.1,
        "operator_address": "127.0.0.1:0",
        "nonces": 16,
        **options,
    }
    return plan_serve(dirs, params=PRESETS["test"], address=address, **options)
