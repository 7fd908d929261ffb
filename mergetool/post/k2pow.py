"""Who solves the k2pow of a pass: the protocol ``generate_proof`` plugs in, and its solvers.

``LocalK2pow`` searches in this process (``post prove``); ``serve`` plugs in its RandomX
host (one process sharing one cache or dataset among identities, built on the job
functions below) or a remote k2pow-service (``mergetool.k2pow.client.RemoteK2pow``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from mergetool._exceptions import Cancelled, ProvingFailed
from mergetool.post import pool as workers
from mergetool.post.metadata import PostMetadata
from mergetool.post.pow import PowProgress, find_pow

OnGroup = Callable[[int, int], None]

log = logging.getLogger("mergetool.post")


class K2powSolver(Protocol):
    def solve_groups(
        self,
        node_id: bytes,
        groups: list[int],
        challenge: bytes,
        target: bytes,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        on_group: OnGroup | None = None,
    ) -> dict[int, int]:
        """``{group: pow}`` for every group; ProvingFailed when it cannot be done, and
        ``Cancelled`` (or its ``K2powCancelled``) once ``cancelled()``."""
        ...


class LocalK2pow:
    """k2pow in this process with ``threads`` RandomX VMs; ``on_pow`` sees hashes as they go."""

    def __init__(
        self, *, threads: int, fast: bool, on_pow: Callable[[PowProgress], None] | None = None
    ) -> None:
        self.threads, self.fast, self.on_pow = threads, fast, on_pow

    def solve_groups(
        self,
        node_id: bytes,
        groups: list[int],
        challenge: bytes,
        target: bytes,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        on_group: OnGroup | None = None,
    ) -> dict[int, int]:
        start, hashes, pows = time.monotonic(), 0, {}
        if self.on_pow is not None:
            self.on_pow(PowProgress(0, len(groups), 0, 0.0))
        for n, group in enumerate(groups):
            tried = [0]

            def on_hashes(
                count: int, n: int = n, tried: list[int] = tried, before: int = hashes
            ) -> None:
                tried[0] = count
                if self.on_pow is not None:
                    seconds = time.monotonic() - start
                    self.on_pow(PowProgress(n, len(groups), before + count, seconds))

            if cancelled():
                raise Cancelled("k2pow was stopped")
            pows[group] = find_pow(
                group, challenge, node_id, target, threads=self.threads, fast=self.fast,
                cancelled=cancelled, on_hashes=on_hashes,
            )  # fmt: skip
            if cancelled():  # (a stopped search ends without a solution)
                raise Cancelled("k2pow was stopped")
            hashes += tried[0]
            seconds = time.monotonic() - start
            if self.on_pow is not None:
                self.on_pow(PowProgress(n + 1, len(groups), hashes, seconds))
            log.info(
                "k2pow: group %d done (%d of %d), %d hashes in %.1f s (%.0f hashes/s)",
                group, n + 1, len(groups), hashes, seconds, hashes / seconds if seconds else 0,
            )  # fmt: skip
            if on_group is not None:
                on_group(group, pows[group])
        return pows


# --- job functions for a WorkerPool (serve's RandomX host) ---------------------------------


def solve_group_job(
    slot: int, gen: int, node_id: bytes, group: int, challenge: bytes, target: bytes,
    threads: int, fast: bool,
) -> int:  # fmt: skip
    """In a worker: the k2pow of one group with the process's shared RandomX VMs."""
    workers.check_live(slot, gen)
    found = find_pow(
        group, challenge, node_id, target, threads=threads, fast=fast,
        cancelled=lambda: not workers.live(slot, gen),
    )  # fmt: skip
    workers.check_live(slot, gen)
    return found


def verify_job(
    meta: PostMetadata, proof: Any, challenge: bytes, *, k1: int, k2: int,
    pow_difficulty: bytes, scrypt_n: int, fast: bool,
) -> str | None:  # fmt: skip
    """In a worker: None when ``proof`` passes with all k2 indices against ``meta``; else why."""
    from mergetool.post.verification import verify_own_proof

    try:
        verify_own_proof(
            proof, meta, challenge, k1=k1, k2=k2, pow_difficulty=pow_difficulty,
            scrypt_n=scrypt_n, randomx_fast=fast,
        )  # fmt: skip
    except ProvingFailed as exc:
        return exc.message
    return None
