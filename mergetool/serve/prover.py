"""One proving run for one identity: passes of k2pow + disk scan until a proof, then verify.

The run is a coroutine on the service's event loop, but every CPU step happens elsewhere:
k2pow and verification in the RandomX host (or a remote k2pow-service, from a thread), the
scan in the pass pool. Between k2pow and the scan an identity waits for its disk
(``scheduler.py``), so one identity's k2pow overlaps another one's pass.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mergetool._exceptions import ProvingFailed
from mergetool.post.params import PostParams
from mergetool.serve import workers
from mergetool.serve.config import IdentityConfig
from mergetool.serve.k2pow import K2powSolver, RandomxHost
from mergetool.serve.scheduler import DiskScheduler
from mergetool.serve.state import Clock, Progress

_TICK_S = 0.2  # how often a running pass's progress is read


class PassPool:
    """The pass worker processes, shared by all identities."""

    def __init__(self, workers_: int, identities: int) -> None:
        self.slots = workers.SlotPool(workers_, 4 * identities + 4)

    async def run(
        self,
        ident: IdentityConfig,
        challenge: bytes,
        pows: dict[int, int],
        params: PostParams,
        parts: int,
        on_read: Callable[[int], None],
    ) -> Any:
        """One pass over ``ident``'s data: the Proof, or None when no nonce qualified."""
        slot, gen = self.slots.begin()
        futures = [
            asyncio.wrap_future(
                self.slots.pool.submit(
                    workers.scan_span,
                    slot,
                    gen,
                    ident.folder,
                    challenge,
                    pows,
                    params.k1,
                    params.k2,
                    span,
                )  # fmt: skip
            )
            for span in workers.spans(ident.num_labels, parts)
        ]
        try:
            pending: set[Any] = set(futures)
            while pending:
                _, pending = await asyncio.wait(pending, timeout=_TICK_S)
                on_read(self.slots.progress(slot))
            found = [f.result() for f in futures]
        finally:
            self.slots.end(slot, gen)  # stops the spans still running (a cancelled run)
        return workers.make_proof(found, pows, params.k2, ident.num_labels)

    def shutdown(self) -> None:
        self.slots.shutdown()


@dataclass(frozen=True)
class ProveSettings:
    params: PostParams
    nonces: int
    threads: int


class Prover:
    """Carries out proving runs: ``on_progress`` gets each Progress of a run, ``on_measure``
    each finished step (``"k2pow_seconds"``, ``"pass_bytes"``) for the metrics."""

    def __init__(
        self,
        settings: ProveSettings,
        solver: K2powSolver,
        host: RandomxHost,
        scheduler: DiskScheduler,
        passes: PassPool,
        *,
        clock: Clock,
        on_progress: Callable[[IdentityConfig, bytes, Progress], None],
        on_measure: Callable[[IdentityConfig, str, float], None],
    ) -> None:
        self.settings, self.solver, self.host = settings, solver, host
        self.scheduler, self.passes, self.clock = scheduler, passes, clock
        self.on_progress, self.on_measure = on_progress, on_measure

    async def prove(self, ident: IdentityConfig, challenge: bytes, cancel: threading.Event) -> Any:
        """A verified Proof for ``challenge``; ProvingFailed (naming the folder) otherwise."""
        params, nonces = self.settings.params, self.settings.nonces
        target = workers.scaled_target(params.pow_difficulty, ident.num_units)
        start, number = 0, 1
        while True:
            groups = list(range(start // 16, (start + nonces) // 16))
            groups = [g for g in groups if g <= workers.max_group()]
            if not groups:
                raise ProvingFailed(f"{ident.folder}: no proof found with nonces 0 .. {start - 1}")
            span = (start, 16 * (groups[-1] + 1))
            pows = await self._k2pow(ident, challenge, groups, target, number, span, cancel)
            proof = await self._pass(ident, challenge, pows, number, span)
            if proof is not None:
                break
            start, number = start + nonces, number + 1
        why = await asyncio.to_thread(
            self.host.verify, ident.folder, proof, challenge, k1=params.k1, k2=params.k2,
            pow_difficulty=params.pow_difficulty, scrypt_n=params.scrypt_n,
        )  # fmt: skip
        if why is not None:
            raise ProvingFailed(
                f"{ident.folder}: {why}",
                hint=f"Check the data with `mergetool post verify-data --dir {ident.folder}` "
                "(and that --scrypt-n / --preset match the data).",
            )
        return proof

    async def _k2pow(
        self,
        ident: IdentityConfig,
        challenge: bytes,
        groups: list[int],
        target: bytes,
        number: int,
        span: tuple[int, int],
        cancel: threading.Event,
    ) -> dict[int, int]:
        done = [0]
        started = self.clock()

        def show() -> None:
            live = self.host.groups_done(ident.node_id) if self.solver is self.host else 0
            self.on_progress(
                ident, challenge,
                Progress("k2pow", number, span, k2pow_groups_done=max(done[0], live),
                         k2pow_groups_total=len(groups), bytes_total=ident.data_bytes),
            )  # fmt: skip

        def on_group(group: int, pow_value: int) -> None:
            done[0] += 1

        show()
        call = asyncio.ensure_future(
            asyncio.to_thread(
                self.solver.solve_groups,
                ident.node_id,
                groups,
                challenge,
                target,
                cancelled=cancel.is_set,
                on_group=on_group,
            )  # fmt: skip
        )
        # A cancelled run's thread ends later with workers.Cancelled (K2powCancelled from a
        # remote solver): nobody needs that.
        call.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            while not call.done():
                await asyncio.wait([call], timeout=_TICK_S)
                show()
        except asyncio.CancelledError:
            cancel.set()  # the thread notices and stops the host job
            raise
        pows = call.result()
        self.on_measure(ident, "k2pow_seconds", self.clock() - started)
        return pows

    async def _pass(
        self,
        ident: IdentityConfig,
        challenge: bytes,
        pows: dict[int, int],
        number: int,
        span: tuple[int, int],
    ) -> Any:
        total = ident.data_bytes
        self.on_progress(ident, challenge, Progress("waiting-for-disk", number, span, 0, total))
        async with self.scheduler.disk(ident.device):
            started = self.clock()
            read = [0]

            def on_read(done: int) -> None:
                read[0] = done
                elapsed = self.clock() - started
                rate = done / elapsed if elapsed > 0 and done else None
                eta = (total - done) / rate if rate else None
                self.on_progress(
                    ident, challenge, Progress("reading", number, span, done, total, rate, eta)
                )

            on_read(0)
            proof = await self.passes.run(
                ident, challenge, pows, self.settings.params, self.settings.threads, on_read
            )
            self.on_measure(ident, "pass_bytes", read[0])
            return proof
