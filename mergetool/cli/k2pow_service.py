"""``mergetool k2pow-service``: post-rs's k2pow HTTP API, served with our RandomX k2pow."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime
from typing import Any

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.post.params import MAX_THREADS


def _log(text: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{stamp} {text}", err=True)


def _describe_job(job: Any) -> str:
    return f"miner {job.miner.hex()} nonce group {job.group} challenge {job.challenge8.hex()}"


def _describe(event: Any) -> str:
    what = _describe_job(event.job)
    if event.kind == "created":
        return f"job created: {what}"
    if event.kind == "done":
        return f"job done: {what}: pow {event.pow} in {event.seconds:.2f} s"
    return f"job failed: {what}: {event.error}"


@click.command(cls=MergetoolCommand, name="k2pow-service")
@click.option(
    "--bind-address",
    default="0.0.0.0:3000",
    show_default=True,
    help="HOST:PORT to listen on (port 0: any free port; the bound one is logged).",
)
@click.option(
    "--cores",
    type=click.IntRange(min=1, max=MAX_THREADS),
    help=f"Workers, each solving one job at a time.  [default: all CPUs, at most {MAX_THREADS}]",
)
@click.option(
    "--randomx-mode",
    type=click.Choice(["fast", "light"]),
    default="fast",
    show_default=True,
    help="fast builds the 2 GiB RandomX dataset once; light needs 256 MiB but is slower.",
)
def k2pow_service(bind_address: str, cores: int | None, randomx_mode: str) -> None:
    """Solve k2pow for PoST services over HTTP (post-rs's k2pow-service API).

    Answers GET /job/MINER/NONCE_GROUP/CHALLENGE8/DIFFICULTY with 201 (started or
    running), 429 (all workers busy), 200 and the pow, or 500 and the reason. Stops
    cleanly on SIGTERM or Ctrl-C; results are kept in memory only.
    """
    from mergetool.k2pow.service import K2powService

    workers = cores or min(os.cpu_count() or 1, MAX_THREADS)
    service = K2powService(
        bind_address,
        cores=workers,
        fast=randomx_mode == "fast",
        on_event=lambda e: _log(_describe(e)),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    cancelled: list[Any] = []
    try:
        if randomx_mode == "fast":
            _log("building the RandomX dataset (fast mode, about 2 GiB)")
        service.start()
        host, port = service.address
        shown = f"[{host}]" if ":" in host else host
        _log(
            f"k2pow-service listening on http://{shown}:{port} "
            f"({workers} worker{'s' if workers != 1 else ''}, RandomX {randomx_mode} mode)"
        )
        while not stop.wait(0.5):
            pass
        _log("stopping")
    finally:
        cancelled = service.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for job in cancelled:
        _log(f"job cancelled: {_describe_job(job)}")
    _log("stopped")
