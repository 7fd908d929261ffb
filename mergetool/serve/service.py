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
from dataclasses import dataclass
from typing import Any

from mergetool._exceptions import K2powCancelled, MergetoolError
from mergetool._lock import FolderLock
from mergetool.serve import workers
from mergetool.serve.client import Connection
from mergetool.serve.config import IdentityConfig, ServeConfig
from mergetool.serve.events import Event, Level
from mergetool.serve.k2pow import K2powSolver, RandomxHost, remote_solver
from mergetool.serve.metrics import Metrics
from mergetool.serve.prover import PassPool, Prover, ProveSettings
from mergetool.serve.scheduler import DiskScheduler
from mergetool.serve.state import Clock, Decision, IdentityState, Progress
from mergetool.serve.store import ProofStore

_STOP_WAIT_S = 3.0  # how long shutdown waits for running work before abandoning it


@dataclass(eq=False)
class Identity:
    """One identity while the service runs: config, state machine, proof file, current run."""

    config: IdentityConfig
    state: IdentityState
    store: ProofStore
    connected: bool = False
    job: asyncio.Task[None] | None = None
    cancel: threading.Event | None = None
    last_problem: str | None = None  # the last connection problem reported
    delivered: tuple[bytes, float] | None = None  # (challenge, when) of the last hand-over


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
        self.host = RandomxHost(
            len(config.identities),
            threads=config.threads,
            # With a remote k2pow the host only verifies: the light cache is enough.
            fast=config.randomx_fast and not config.remote_k2pow,
        )
        if solver is None and config.remote_k2pow:
            solver = remote_solver(config.remote_k2pow, config.remote_k2pow_parallelism)
        self.solver: K2powSolver = solver or self.host
        self.operator_address: tuple[str, int] | None = None  # bound (host, port) once running
        self.ready = threading.Event()  # set once the streams are being opened
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._prover: Prover | None = None
        self._stop_requested = False
        self.recent_events: deque[Event] = deque(maxlen=50)  # for the operator page

    # --- life cycle ----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask a running service to stop (safe from any thread or a signal handler)."""
        self._stop_requested = True  # (before the loop runs: ``_run`` stops at once)
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nothing to stop
                self._loop.call_soon_threadsafe(self._stop.set)

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
        passes_at_once = sum(
            min(self.config.passes_per_disk, n) for n in self._per_device().values()
        )
        passes = PassPool(passes_at_once * self.config.threads, len(self.identities))
        settings = ProveSettings(self.config.params, self.config.nonces, self.config.threads)
        self._prover = Prover(
            settings, self.solver, self.host, DiskScheduler(self.config.passes_per_disk), passes,
            clock=self.clock, on_progress=self._on_progress, on_measure=self._on_measure,
        )  # fmt: skip
        api = None
        connection: Connection | None = None
        try:
            await self._offer_stored_proofs()
            if self.config.operator_address is not None:
                api = HttpServer(self.config.operator_address, app=self._operator_app()).start()
                self.operator_address = api.address
            connection = Connection(self.config, self, self._stop)
            self._emit(
                "started",
                f"serving {len(self.identities)} identities for the node at {self.config.address}"
                + (self._api_note(*api.address) if api else ""),
            )
            self.ready.set()
            await connection.run()
        finally:
            self._stop.set()
            await self._shutdown(passes)
            if api is not None:
                api.stop()

    def _per_device(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for ident in self.identities:
            counts[ident.config.device] = counts.get(ident.config.device, 0) + 1
        return counts

    async def _shutdown(self, passes: PassPool) -> None:
        mid = [i for i in self.identities if i.state.state == "proving"]
        for ident in mid:
            challenge = ident.state.challenge or b""
            self._emit(
                "stopped-mid-proof",
                f"stopping while proving challenge {challenge.hex()}: that work is lost; the "
                "node will ask again",
                ident=ident, level="warning", challenge=challenge.hex(),
            )  # fmt: skip
        jobs = [i.job for i in self.identities if i.job is not None]
        for ident in self.identities:
            ident.state.on_stop()
            if ident.cancel is not None:
                ident.cancel.set()
        for job in jobs:
            job.cancel()
        if jobs:
            await asyncio.wait(jobs, timeout=_STOP_WAIT_S)
        await asyncio.to_thread(passes.shutdown)
        await asyncio.to_thread(self.host.release)
        done = [i.config.node_id.hex() for i in self.identities if i.state.state == "done"]
        self._emit(
            "stopped",
            "stopped" + (f"; proofs kept for the node: {', '.join(done)}" if done else ""),
            mid_proof=[i.config.node_id.hex() for i in mid],
        )

    async def _offer_stored_proofs(self) -> None:
        """Proofs left by an earlier run: re-verified, then offered for their challenge."""
        params = self.config.params
        for ident in self.identities:
            found = ident.store.load()
            if found is None:
                continue
            if isinstance(found, str):
                self._emit(
                    "stored-proof-discarded", f"discarding {ident.store.path}: {found}",
                    ident=ident, level="warning",
                )  # fmt: skip
                ident.store.discard()
                continue
            finished, delivered = found
            why = await asyncio.to_thread(
                self.host.verify, ident.config.folder, finished.proof, finished.challenge,
                k1=params.k1, k2=params.k2, pow_difficulty=params.pow_difficulty,
                scrypt_n=params.scrypt_n,
            )  # fmt: skip
            if why is not None:
                self._emit(
                    "stored-proof-discarded",
                    f"discarding {ident.store.path}: it no longer verifies ({why})",
                    ident=ident, level="warning",
                )  # fmt: skip
                ident.store.discard()
                continue
            ident.state.on_stored_proof(finished, delivered=delivered)
            self._emit(
                "stored-proof",
                f"offering the stored proof for challenge {finished.challenge.hex()}"
                + (" (already delivered once)" if delivered else ""),
                ident=ident, challenge=finished.challenge.hex(),
            )  # fmt: skip
        self._release_host_if_idle()

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
        if last is not None and last.challenge == challenge:
            try:
                ident.store.save(last, delivered=True)
            except MergetoolError as exc:
                self._emit("store-failed", exc.message, ident=ident, level="warning")
        ident.delivered = (challenge, self.clock())
        self.metrics.delivered.labels(**Metrics.label(config.node_id)).inc()
        self._emit(
            "proof-delivered", f"handed the proof for challenge {challenge.hex()} to the node",
            ident=ident, challenge=challenge.hex(),
        )  # fmt: skip

    def on_connection(
        self, config: IdentityConfig, connected: bool, problem: str | None, refused: bool
    ) -> None:
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

    # --- proving runs --------------------------------------------------------------------

    def _start(self, ident: Identity, challenge: bytes, *, stale: bool) -> None:
        if ident.cancel is not None:
            ident.cancel.set()
        if ident.job is not None:
            ident.job.cancel()
        if stale:
            self._emit(
                "stale-dropped", "a new challenge: dropping the work for the previous one",
                ident=ident, level="warning", challenge=challenge.hex(),
            )  # fmt: skip
        last = ident.store.load()
        if isinstance(last, tuple) and last[0].challenge != challenge:
            ident.store.discard()  # a proof for another challenge is of no more use
        ident.cancel = threading.Event()
        ident.job = asyncio.ensure_future(self._job(ident, challenge, ident.cancel))
        self._emit(
            "proof-started", f"proving challenge {challenge.hex()}",
            ident=ident, challenge=challenge.hex(),
        )  # fmt: skip

    async def _job(self, ident: Identity, challenge: bytes, cancel: threading.Event) -> None:
        assert self._prover is not None
        label = Metrics.label(ident.config.node_id)
        try:
            proof = await self._prover.prove(ident.config, challenge, cancel)
            finished = ident.state.finish(challenge, proof)
            if finished is None:
                return
            ident.store.save(finished)  # on disk before the node can get it
            ident.state.on_proof(finished)
            self.metrics.proofs.labels(**label).inc()
            self.metrics.proof_seconds.labels(**label).observe(finished.duration_s)
            self._emit(
                "proof-ready",
                f"proof ready for challenge {challenge.hex()} after {finished.duration_s:.1f} s "
                f"(nonce {proof.nonce}); saved to {ident.store.path}",
                ident=ident, challenge=challenge.hex(), duration_s=finished.duration_s,
            )  # fmt: skip
        except asyncio.CancelledError:
            return  # dropped for a newer challenge, or the service stops
        except (workers.Cancelled, K2powCancelled):  # the local host's or a remote solver's
            if ident.job is asyncio.current_task():  # nobody asked for that: never hang on it
                self._fail(ident, challenge, RuntimeError("the run was stopped unexpectedly"))
        except Exception as exc:  # noqa: BLE001 - a run's failure is reported, never fatal
            self._fail(ident, challenge, exc)
        finally:
            if ident.job is asyncio.current_task():
                ident.job, ident.cancel = None, None
            self._release_host_if_idle()

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

    def _release_host_if_idle(self) -> None:
        """No identity needs k2pow or verification: give the RandomX memory back."""
        if self.host.running and not any(i.state.state == "proving" for i in self.identities):
            self.host.release()
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

    # --- views (operator API) --------------------------------------------------------------

    def _route(self, path: str) -> tuple[int, bytes, str]:
        """The operator API (HTTP thread); views are computed on the loop, consistent."""
        from mergetool._http import json_response
        from mergetool.serve.operator_api import view

        if path.rstrip("/") == "/metrics":
            body, ctype = self.metrics.render()
            return 200, body, ctype
        assert self._loop is not None

        async def on_loop() -> tuple[int, Any]:
            return view(self.identities, path)

        status, doc = asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result(timeout=10)
        return json_response(doc, status)

    def _operator_app(self) -> Any:
        """The operator page at ``/`` (``mergetool.web``) in front of the API routes."""
        from mergetool._http import route_app
        from mergetool.web.app import PageApp

        fallback = route_app(self._route)
        return PageApp(self._page_view, self.config.http_token, poll_s=2.0, fallback=fallback)

    def _api_note(self, host: str, port: int) -> str:
        from mergetool.web.app import page_url

        return f"; operator API and page on {page_url(host, port, self.config.http_token)}"

    def _page_view(self) -> dict[str, Any]:
        """The operator page's JSON (HTTP thread), computed on the loop like ``_route``."""
        from mergetool.serve.page import serve_page_view

        assert self._loop is not None

        async def on_loop() -> dict[str, Any]:
            return serve_page_view(self.identities, self.recent_events, now=self.clock())

        return asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result(timeout=10)
