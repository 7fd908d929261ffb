"""Who solves k2pow for ``serve``: the local RandomX host, or a remote k2pow-service.

Both are ``mergetool.post.k2pow.K2powSolver``s the engine calls from a proving thread. The
host is one process holding the one RandomX cache (light) or dataset (fast) of the whole
service, solving the identities' nonce groups one job at a time. Proof checks run beside
it in a verifier process of their own (light cache), so a finished pass never waits behind
other identities' k2pow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from mergetool._exceptions import Cancelled, ServeError
from mergetool.post.k2pow import K2powSolver, solve_group_job, verify_job
from mergetool.post.metadata import PostMetadata
from mergetool.post.pool import WorkerPool

__all__ = ["K2powSolver", "RandomxHost", "remote_solver"]


class RandomxHost:
    """The RandomX processes of the service, started on demand.

    ``release`` ends them, returning the 256 MiB cache / 2 GiB dataset to the system; the
    next use starts new ones.
    """

    def __init__(self, identities: int, *, threads: int, fast: bool) -> None:
        self.slots = 4 * identities + 4  # a stale job per identity may still be winding down
        self.threads, self.fast = threads, fast
        self._solver: WorkerPool | None = None
        self._verifier: WorkerPool | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._solver is not None or self._verifier is not None

    def _pool(self, verifier: bool, stop: Callable[[], bool]) -> WorkerPool:
        with self._lock:  # (held only to start the processes: ``release`` never waits long)
            pool = self._verifier if verifier else self._solver
            if pool is None:
                pool = WorkerPool(1, self.slots, wait=False)
                if verifier:
                    self._verifier = pool
                else:
                    self._solver = pool
        try:
            pool.wait_ready(stop)
        except Cancelled:
            raise  # (the pool starts on for the next job)
        except BaseException:
            self._drop(pool)  # it cannot start: the next job starts a new one
            raise
        return pool

    def _drop(self, pool: WorkerPool) -> None:
        with self._lock:
            if self._solver is pool:
                self._solver = None
            if self._verifier is pool:
                self._verifier = None
        pool.shutdown()

    def release(self, grace_s: float = 3.0) -> None:
        """End the processes (those still running after ``grace_s`` are killed)."""
        with self._lock:
            pools, self._solver, self._verifier = (self._solver, self._verifier), None, None
        for pool in pools:
            if pool is not None:
                pool.shutdown(grace_s)

    def pids(self) -> list[int]:
        return [pid for pool in (self._solver, self._verifier) if pool for pid in pool.pids()]

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
        pows = {}
        for group in groups:  # one job per group: identities take turns group by group
            if cancelled():
                raise Cancelled("k2pow was stopped")
            pows[group] = self._run(
                False, cancelled, solve_group_job, node_id, group, challenge, target,
                self.threads, self.fast,
            )  # fmt: skip
            if on_group is not None:
                on_group(group, pows[group])
        return pows

    def verify(
        self, meta: PostMetadata, proof: Any, challenge: bytes, *,
        cancelled: Callable[[], bool] = lambda: False, **kw: Any,
    ) -> str | None:  # fmt: skip
        """None when the proof passes with all k2 indices against ``meta``, else the reason;
        Cancelled once ``cancelled()`` (a stop never waits for a stuck verifier)."""
        return self._run(True, cancelled, _verify, meta, proof, challenge, kw)

    def _run(self, verifier: bool, stop: Callable[[], bool], fn: Any, *args: Any) -> Any:
        """``fn(slot, gen, *args)`` in the solver's (or the verifier's) process. A process
        that died (the OOM killer, a stray kill) is replaced and the job run once more."""
        for attempt in (1, 2):
            pool = None
            try:
                pool = self._pool(verifier, stop)
                slot, gen = pool.begin()
                try:
                    return pool.wait(pool.submit(fn, slot, gen, *args), stop)
                finally:
                    pool.end(slot, gen)
            except BrokenProcessPool as exc:
                if pool is not None:
                    self._drop(pool)
                if attempt == 2:
                    what = "verifier" if verifier else "k2pow"
                    raise ServeError(
                        f"the RandomX {what} process died twice in a row",
                        hint="Was it killed for lack of memory? See `dmesg` for the OOM killer "
                        "(--randomx-mode light needs 256 MiB instead of 2 GiB).",
                    ) from exc
        raise AssertionError("unreachable")


def _verify(slot: int, gen: int, meta: PostMetadata, proof: Any, challenge: bytes,
            kw: dict[str, Any]) -> str | None:  # fmt: skip
    """In the verifier process: ``verify_job`` (a check is short: it is not stopped midway)."""
    return verify_job(meta, proof, challenge, fast=False, **kw)


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
