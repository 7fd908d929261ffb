"""The service: every identity of a ServeConfig, proved over the node's protocol.

``Service(config).run()`` (a coroutine) locks the data folders, offers stored proofs again,
opens the streams and the operator API, and runs until ``stop()``; then it closes the
streams, stops the passes, keeps finished proofs on disk and reports who was mid-proof.
Usable from Python with an injected clock; the CLI only parses options and renders events.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from mergetool._exceptions import Cancelled, MergetoolError, ServeError
from mergetool._http import Request, Response
from mergetool._lock import FolderLock
from mergetool.post.k2pow import K2powSolver
from mergetool.serve.client import Connection
from mergetool.serve.config import IdentityConfig, ServeConfig
from mergetool.serve.events import Event, Level
from mergetool.serve.identity import Identity
from mergetool.serve.k2pow import RandomxHost, remote_solver
from mergetool.serve.metrics import Metrics
from mergetool.serve.operator_api import api_note, operator_app
from mergetool.serve.prover import Prover, start_prover
from mergetool.serve.recovery import offer_stored_proofs
from mergetool.serve.state import Clock, Decision, Finished, IdentityState, Progress
from mergetool.serve.store import ProofStore

# A stop has one deadline for everything (systemd's default is 90 s, operators' often 10):
_STOP_WAIT_S = 2.0  # running work notices the stop signal (then it is cancelled)
_POOL_GRACE_S = 2.0  # worker processes end by themselves (then they are killed)


class Service:
    """Proves for every identity in ``config``; ``on_event`` gets one Event per happening."""

    def __init__(
        self,
        config: ServeConfig,
        *,
        clock: Clock = time.time,
        on_event: Callable[[Event], None] | None = None,
        solver: K2powSolver | None = None,
    ) -> None:
        self.config, self.clock = config, clock
        self._on_event = on_event or (lambda event: None)
        self.identities = [
            Identity(c, IdentityState(clock), ProofStore(c)) for c in config.identities
        ]
        self.by_id = {i.config.node_id: i for i in self.identities}
        self.metrics = Metrics()
        for ident in config.identities:
            self.metrics.add_identity(ident.node_id)
        fallback = config.remote_k2pow_fallback_after_s
        self.host = RandomxHost(
            len(config.identities),
            threads=config.threads,
            # With a remote k2pow (and no local fallback) the host only verifies: light cache.
            fast=config.randomx_fast and (not config.remote_k2pow or fallback is not None),
        )
        #: node id -> what is failing now (remote k2pow down, …), shown by /identities
        self.problems: dict[bytes, str] = {}
        if solver is None and config.remote_k2pow:
            solver = remote_solver(
                config.remote_k2pow, config.remote_k2pow_parallelism,
                backoff_s=config.remote_k2pow_backoff_s, fallback_after_s=fallback,
                local=self.host, on_problem=self._on_problem,
            )  # fmt: skip
        self.solver: K2powSolver = solver or self.host
        self.operator_address: tuple[str, int] | None = None  # bound (host, port) once running
        self.ready = threading.Event()  # set once the streams are being opened
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._prover: Prover | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._stop_requested = False
        self._stopping = False
        self._mid: list[Identity] = []  # who was proving when the stop came
        self.recent_events: deque[Event] = deque(maxlen=50)  # for the operator page

    def route(self, request: Request) -> Response:
        """The operator API's answer to ``request`` (from an HTTP thread)."""
        from mergetool.serve.operator_api import answer

        return answer(self, request)

    # --- life cycle ----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask a running service to stop (safe from any thread or a signal handler)."""
        self._stop_requested = True  # (before the loop runs: ``_run`` stops at once)
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nothing to stop
                self._loop.call_soon_threadsafe(self._stop.set)

    def watched_process_ended(self, pid: int) -> None:
        """``--watch-pid``: the watched process is gone; stop as on SIGTERM."""
        self._emit("watched-process-ended", f"process {pid} ended: stopping (--watch-pid)")
        self.stop()

    async def run(self) -> None:
        """Serve until ``stop()``; raises ServeError when the node stays unreachable."""
        locks: list[FolderLock] = []
        try:
            for ident in self.identities:
                locks.append(FolderLock(ident.config.folder).acquire())
            for ident in self.identities:
                ident.store.prepare()
            await self._run()
        finally:
            for lock in locks:
                lock.release()

    async def _run(self) -> None:
        from mergetool._http import HttpServer

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        self._prover, pool, threads = await start_prover(
            self.config, [i.config for i in self.identities], self.solver, self.host,
            clock=self.clock, on_progress=self._on_progress, on_measure=self._on_measure,
        )  # fmt: skip
        api = None
        connection: Connection | None = None
        try:
            stopping = self._stop.is_set
            await offer_stored_proofs(
                self.identities, self._prover, stopping=stopping, emit=self._emit
            )
            await self._release_host_if_idle()
            if self.config.operator_address is not None:
                api = HttpServer(
                    self.config.operator_address, operator_app(self), what="--operator-address"
                ).start()
                self.operator_address = api.address
            connection = Connection(self.config, self, self._stop)
            self._emit(
                "started",
                f"serving {_count(len(self.identities), 'identity', 'identities')} for the node "
                f"at {self.config.address}"
                + (api_note(api.address, self.config.http_token) if api else ""),
            )
            self.ready.set()
            await self._serve(connection)
        finally:
            self._stop.set()
            self._stopping = True
            if connection is not None:
                await connection.close()
            threads.shutdown(wait=False, cancel_futures=True)
            await asyncio.gather(
                asyncio.to_thread(pool.shutdown, _POOL_GRACE_S),
                asyncio.to_thread(self.host.release, _POOL_GRACE_S),
            )
            self._report_stopped()
            if api is not None:
                api.stop()

    async def _serve(self, connection: Connection) -> None:
        """One task group owns every stream and run: the first failure (the node unreachable
        past --max-retries) ends the others, and none is left behind."""
        assert self._stop is not None
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                for ident in self.identities:
                    tasks.create_task(connection.keep(ident.config))
                tasks.create_task(self._stop_jobs_on_stop())
        except* ServeError as group:
            raise group.exceptions[0] from None
        finally:
            self._tasks = None

    async def _stop_jobs_on_stop(self) -> None:
        """Once stopping: signal every run, give them a moment, then cancel what is left."""
        assert self._stop is not None
        try:
            await self._stop.wait()
        finally:
            self._stopping = True
            self._mid = [i for i in self.identities if i.state.state == "proving"]
            for ident in self.identities:
                if ident.stop is not None:
                    ident.stop.set()
            jobs = [i.job for i in self.identities if i.job is not None]
            if jobs:
                await asyncio.wait(jobs, timeout=_STOP_WAIT_S)
            for job in jobs:
                job.cancel()

    def _report_stopped(self) -> None:
        mid = [i for i in self._mid if i.state.state == "proving"]
        for ident in mid:
            challenge = ident.state.challenge or b""
            self._emit(
                "stopped-mid-proof",
                f"stopping while proving challenge {challenge.hex()}: that work is lost; the "
                "node will ask again",
                ident=ident, level="warning", challenge=challenge.hex(),
            )  # fmt: skip
        for ident in self.identities:
            ident.state.on_stop()
        done = [i.config.node_id.hex() for i in self.identities if i.state.state == "done"]
        self._emit(
            "stopped",
            "stopped" + (f"; proofs kept for the node: {', '.join(done)}" if done else ""),
            mid_proof=[i.config.node_id.hex() for i in mid],
        )

    async def _save(self, ident: Identity, finished: Finished, *, delivered: bool) -> bool:
        """Keep a copy of the proof (off the loop); a failure is a warning, never fatal: the
        proof is in memory and goes to the node from there."""
        try:
            await asyncio.to_thread(ident.store.save, finished, delivered=delivered)
        except MergetoolError as exc:
            self._emit(
                "store-failed",
                f"{exc.message}; the proof is kept in memory only and handed to the node from "
                "there, but a restart would lose it. Free space there, or give --state-dir "
                "a folder with room.",
                ident=ident, level="warning", path=str(ident.store.path),
            )  # fmt: skip
            return False
        return True

    # --- what the streams report (client.StreamHandler) ---------------------------------

    def on_request(self, config: IdentityConfig, challenge: bytes) -> Decision:
        ident = self.by_id[config.node_id]
        before = ident.state.state
        decision = ident.state.on_request(challenge)
        if decision.reply == "error":
            self._emit(
                "error-reported", f"answered ERROR to the node: {ident.state.last_error}",
                ident=ident, level="error", challenge=challenge.hex(),
            )  # fmt: skip
        if decision.start is not None:
            self._start(ident, challenge, stale=before in ("proving", "done"))
        return decision

    def on_delivered(self, config: IdentityConfig, challenge: bytes) -> None:
        ident = self.by_id[config.node_id]
        last = ident.state.last_proof
        if last is not None and last.challenge == challenge and self._tasks is not None:
            self._tasks.create_task(self._save(ident, last, delivered=True))  # (off the loop)
        ident.delivered = (challenge, self.clock())
        self.metrics.delivered.labels(**Metrics.label(config.node_id)).inc()
        self._emit(
            "proof-delivered", f"handed the proof for challenge {challenge.hex()} to the node",
            ident=ident, challenge=challenge.hex(),
        )  # fmt: skip

    def on_connection(
        self, config: IdentityConfig, *, connected: bool, problem: str | None = None,
        refused: bool = False,
    ) -> None:  # fmt: skip
        ident = self.by_id[config.node_id]
        was, ident.connected = ident.connected, connected
        self.metrics.connected.labels(**Metrics.label(config.node_id)).set(int(connected))
        if connected:
            self._emit("connected", f"connected to the node at {self.config.address}", ident=ident)
            ident.last_problem = None
        elif problem is not None and (was or problem != ident.last_problem):
            # The same failure again (every few seconds while the node is down) is not news.
            level: Level = "error" if refused else "warning"
            self._emit("disconnected", problem, ident=ident, level=level)
            ident.last_problem = problem

    def _on_problem(self, node_id: bytes, problem: str | None) -> None:
        """A solver's thread: the remote k2pow fails (``problem``) or works again (None)."""
        if self.problems.get(node_id) == problem:
            return  # the same failure again is no news
        if problem is None:
            self.problems.pop(node_id, None)
            kind, message, level = "remote-k2pow-recovered", "remote k2pow answers again", "info"
        else:
            self.problems[node_id] = problem
            kind, message, level = "remote-k2pow-failing", problem, "warning"
        ident = self.by_id.get(node_id)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(
                    lambda: self._emit(kind, message, ident=ident, level=level)
                )

    # --- proving runs --------------------------------------------------------------------

    def _start(self, ident: Identity, challenge: bytes, *, stale: bool) -> None:
        if ident.stop is not None:
            ident.stop.set()
        if ident.job is not None:
            ident.job.cancel()
        if stale:
            self._emit(
                "stale-dropped", "a new challenge: dropping the work for the previous one",
                ident=ident, level="warning", challenge=challenge.hex(),
            )  # fmt: skip
        if self._tasks is None or self._stopping:
            ident.state.on_failure(challenge, "serve is stopping")
            return
        ident.stop = threading.Event()
        ident.job = self._tasks.create_task(self._job(ident, challenge, ident.stop))
        self._emit(
            "proof-started", f"proving challenge {challenge.hex()}",
            ident=ident, challenge=challenge.hex(),
        )  # fmt: skip

    async def _job(self, ident: Identity, challenge: bytes, stop: threading.Event) -> None:
        try:
            await self._prove(ident, challenge, stop)
        except asyncio.CancelledError:
            stop.set()  # (the engine's thread notices and ends its work in the processes)
            # never re-raised: a run dropped for a newer challenge or a stop is no failure
            # of the task group
        except Cancelled:
            if not stop.is_set():  # nobody asked for that: never hang on it
                self._fail(ident, challenge, RuntimeError("the run was stopped unexpectedly"))
        except Exception as exc:  # noqa: BLE001 - a run's failure is reported, never fatal
            self._fail(ident, challenge, exc)
        finally:
            if ident.job is asyncio.current_task():
                ident.job, ident.stop = None, None
            if not self._stopping:
                await self._release_host_if_idle()

    async def _prove(self, ident: Identity, challenge: bytes, stop: threading.Event) -> None:
        assert self._prover is not None
        label = Metrics.label(ident.config.node_id)
        last = await asyncio.to_thread(ident.store.load)
        if isinstance(last, tuple) and last[0].challenge != challenge:
            await asyncio.to_thread(ident.store.discard)  # a proof for another challenge
        proof = await self._prover.prove(ident.config, challenge, stop)
        finished = ident.state.finish(challenge, proof)
        if finished is None:
            return
        self._on_progress(ident.config, challenge, ident.state.next_phase("verifying"))
        try:
            await self._prover.check(ident.config, proof, challenge, stop.is_set)
        except (asyncio.CancelledError, Cancelled):
            if self._stopping:  # a finished pass is not lost: the next start checks it
                await asyncio.shield(self._save(ident, finished, delivered=False))
                ident.state.on_stop()  # (not lost: not "stopped mid-proof")
                self._emit(
                    "proof-kept-unchecked",
                    f"stopping before the proof for challenge {challenge.hex()} was checked: "
                    f"kept in {ident.store.path}; the next start checks it and offers it",
                    ident=ident, level="warning", challenge=challenge.hex(),
                )  # fmt: skip
            raise
        self._on_progress(ident.config, challenge, ident.state.next_phase("saving"))
        save = asyncio.ensure_future(self._save(ident, finished, delivered=False))
        try:  # (saved before the node gets it; a stop does not cut the save short)
            saved = await asyncio.shield(save)
        except asyncio.CancelledError:
            if self._stopping and ident.state.on_proof(finished):
                self._emit(
                    "proof-kept", f"stopping while the proof for challenge {challenge.hex()} "
                    f"is saved to {ident.store.path}: the save ends before serve exits, and "
                    "the next start offers it", ident=ident, challenge=challenge.hex(),
                )  # fmt: skip
            raise
        if not ident.state.on_proof(finished):
            return
        self.metrics.proofs.labels(**label).inc()
        self.metrics.proof_seconds.labels(**label).observe(finished.duration_s)
        self._emit(
            "proof-ready",
            f"proof ready for challenge {challenge.hex()} after {finished.duration_s:.1f} s "
            f"(nonce {proof.nonce})"
            + (f"; saved to {ident.store.path}" if saved else "; kept in memory only"),
            ident=ident, challenge=challenge.hex(), duration_s=finished.duration_s,
        )  # fmt: skip

    def _fail(self, ident: Identity, challenge: bytes, exc: BaseException) -> None:
        if isinstance(exc, MergetoolError):
            message = exc.message if not exc.hint else f"{exc.message}. {exc.hint}"
        else:
            message = f"{ident.config.folder}: unexpected {type(exc).__name__}: {exc}"
        if ident.state.on_failure(challenge, message):
            self.metrics.errors.labels(**Metrics.label(ident.config.node_id)).inc()
            self._emit(
                "proof-failed", message, ident=ident, level="error", challenge=challenge.hex()
            )

    async def _release_host_if_idle(self) -> None:
        """No identity needs k2pow or verification: give the RandomX memory back."""
        if self.host.running and not any(i.state.state == "proving" for i in self.identities):
            await asyncio.to_thread(self.host.release)
            self._emit("randomx-released", "no identity is proving: RandomX memory released")

    def _on_progress(self, config: IdentityConfig, challenge: bytes, progress: Progress) -> None:
        ident = self.by_id[config.node_id]
        previous = ident.state.progress
        ident.state.on_progress(challenge, progress)
        if previous is None or previous.phase != progress.phase:
            self._emit(
                f"phase-{progress.phase}",
                f"pass {progress.pass_number} (nonces {progress.nonces[0]} .. "
                f"{progress.nonces[1] - 1}): {progress.phase}",
                ident=ident, challenge=challenge.hex(), pass_number=progress.pass_number,
            )  # fmt: skip

    def _on_measure(self, config: IdentityConfig, what: str, value: float) -> None:
        label = Metrics.label(config.node_id)
        if what == "k2pow_seconds":
            self.metrics.k2pow_seconds.labels(**label).observe(value)
        elif what == "pass_bytes":
            self.metrics.passes.labels(**label).inc()
            self.metrics.bytes_read.labels(**label).inc(value)

    def _emit(
        self, kind: str, message: str, *, ident: Identity | None = None, level: Level = "info",
        **fields: Any,
    ) -> None:  # fmt: skip
        node_id = ident.config.node_id if ident else None
        folder = ident.config.folder if ident else None
        event = Event(self.clock(), kind, message, level, node_id, folder, fields)
        self.recent_events.append(event)
        self._on_event(event)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
