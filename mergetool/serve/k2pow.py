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


class FallbackSolver:
    """A remote k2pow-service first; once it has failed ``after_s`` in a row, the local host
    solves the groups still missing (``mergetool serve --remote-k2pow-fallback-after``)."""

    def __init__(self, remote: Any, local: K2powSolver, after_s: float, on_problem: Any) -> None:
        self.remote, self.local, self.after_s = remote, local, after_s
        self._on_problem = on_problem
        self.parallelism = remote.parallelism

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
        from mergetool.k2pow.client import RemoteK2powUnavailable

        solved: dict[int, int] = {}

        def record(group: int, pow_value: int) -> None:
            solved[group] = pow_value
            if on_group is not None:
                on_group(group, pow_value)

        try:
            return self.remote.solve_groups(
                node_id, groups, challenge, target, cancelled=cancelled, on_group=record
            )
        except RemoteK2powUnavailable as exc:
            self._on_problem(node_id, f"{exc.message}: solving k2pow locally")
        rest = [g for g in groups if g not in solved]
        pows = self.local.solve_groups(
            node_id, rest, challenge, target, cancelled=cancelled, on_group=on_group
        )
        return {**solved, **pows}


def remote_solver(
    url: str,
    parallelism: int,
    *,
    backoff_s: float = 5.0,
    fallback_after_s: float | None = None,
    local: K2powSolver | None = None,
    on_problem: Callable[[bytes, str | None], None] | None = None,
) -> K2powSolver:
    """A solver speaking post-rs's k2pow-service HTTP API (``mergetool.k2pow.client``), with
    ``local`` taking over after ``fallback_after_s`` of failures when both are given."""
    from mergetool.k2pow.client import RemoteK2pow

    remote = RemoteK2pow(
        url, parallelism=parallelism, backoff_s=backoff_s, fail_after_s=fallback_after_s,
        on_problem=on_problem,
    )  # fmt: skip
    if fallback_after_s is None or local is None:
        return remote
    return FallbackSolver(remote, local, fallback_after_s, on_problem or (lambda n, t: None))
