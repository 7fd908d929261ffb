"""Who solves k2pow for ``serve``: the local RandomX host process, or a remote k2pow-service.

Both implement ``K2powSolver`` (the signature of ``mergetool.k2pow.client.RemoteK2pow``): a
blocking call the service runs in a thread, with a ``cancelled`` poll and a per-group callback.
The local host also verifies finished proofs (that needs RandomX too), so it is shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from mergetool.serve import workers

_POLL_S = 0.05


class K2powSolver(Protocol):
    def solve_groups(
        self,
        node_id: bytes,
        groups: list[int],
        challenge: bytes,
        target: bytes,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        on_group: Callable[[int, int], None] | None = None,
    ) -> dict[int, int]:
        """``{group: pow}`` for every group; ProvingFailed when it cannot be done, and
        ``workers.Cancelled`` / ``K2powCancelled`` once ``cancelled()`` (stale work dropped)."""
        ...


class RandomxHost:
    """The one process of the service holding RandomX (cache or dataset), started on demand.

    ``release`` ends the process, returning the 256 MiB cache / 2 GiB dataset to the system;
    the next use starts a new one.
    """

    def __init__(self, identities: int, *, threads: int, fast: bool) -> None:
        self.slots = 4 * identities + 4  # a stale job per identity may still be winding down
        self.threads, self.fast = threads, fast
        self._current: dict[bytes, int] = {}  # node id -> slot of its k2pow job
        self._pool: workers.SlotPool | None = None
        self._lock = threading.Lock()
        self.starts = 0  # how many times the process was started (a round each, ideally)

    @property
    def running(self) -> bool:
        return self._pool is not None

    def _get(self) -> workers.SlotPool:
        with self._lock:
            if self._pool is None:
                self._pool = workers.SlotPool(1, self.slots)
                self.starts += 1
            return self._pool

    def release(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def solve_groups(
        self,
        node_id: bytes,
        groups: list[int],
        challenge: bytes,
        target: bytes,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        on_group: Callable[[int, int], None] | None = None,
    ) -> dict[int, int]:
        if cancelled():
            raise workers.Cancelled
        pool = self._get()
        slot, gen = pool.begin()
        self._current[node_id] = slot
        try:
            future = pool.pool.submit(
                workers.solve_k2pow, slot, gen, node_id, groups, challenge, target,
                self.threads, self.fast,
            )  # fmt: skip
            while True:
                try:
                    pows: dict[int, int] = future.result(timeout=_POLL_S)
                    break
                except TimeoutError:
                    if cancelled():
                        raise workers.Cancelled from None
        finally:
            pool.end(slot, gen)
        if on_group is not None:
            for group in groups:
                on_group(group, pows[group])
        return pows

    def groups_done(self, node_id: bytes) -> int:
        """Groups of ``node_id``'s current k2pow job solved so far (live, unlike on_group)."""
        pool, slot = self._pool, self._current.get(node_id)
        return pool.progress(slot) if pool is not None and slot is not None else 0

    def verify(self, directory: Path, proof: Any, challenge: bytes, **kw: Any) -> str | None:
        """None when the proof passes with all k2 indices, else the reason (in the host)."""
        future = self._get().pool.submit(
            workers.verify, directory, proof, challenge, fast=self.fast, **kw
        )
        return future.result()


def remote_solver(url: str, parallelism: int) -> K2powSolver:
    """A solver speaking post-rs's k2pow-service HTTP API (``mergetool.k2pow.client``)."""
    from mergetool.k2pow.client import RemoteK2pow

    return RemoteK2pow(url, parallelism=parallelism)
