"""``mergetool k2pow-service``: post-rs's k2pow HTTP API, served with our RandomX k2pow."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime
from typing import Any

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.k2pow.service import JOB_DEADLINE_S
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
    "-b",
    "--bind-address",
    default="127.0.0.1:3000",
    show_default=True,
    help="HOST:PORT to listen on (port 0: any free port; the bound one is logged). The API "
    "has no authentication: bind another address only on a network you trust.",
)
@click.option(
    "--cores",
    type=click.IntRange(min=0, max=MAX_THREADS),
    help="Workers, each solving one job at a time; 0: all CPUs.  "
    f"[default: all CPUs, at most {MAX_THREADS}]",
)
@click.option(
    "--randomx-mode",
    type=click.Choice(["fast", "light"]),
    default="fast",
    show_default=True,
    help="fast builds the 2 GiB RandomX dataset once; light needs 256 MiB but is slower.",
)
@click.option(
    "--randomx-large-pages",
    is_flag=True,
    help="Allocate RandomX memory in large pages (when the system has them free).",
)
@click.option(
    "--job-deadline-s",
    type=click.FloatRange(min=0, min_open=True),
    default=JOB_DEADLINE_S,
    show_default=True,
    help="Give up a job unsolved after this long (answered 500 with the reason).",
)
def k2pow_service(
    bind_address: str,
    cores: int | None,
    randomx_mode: str,
    randomx_large_pages: bool,
    job_deadline_s: float,
) -> None:
    """Solve k2pow for PoST services over HTTP (post-rs's k2pow-service API).

    Answers GET /job/MINER/NONCE_GROUP/CHALLENGE8/DIFFICULTY with 201 (started or
    running), 429 (all workers busy), 200 and the pow, or 500 and the reason. Stops
    cleanly on SIGTERM or Ctrl-C; results are kept in memory only.
    """
    from mergetool._http import is_loopback, parse_address
    from mergetool.k2pow.service import K2powService
    from mergetool.post.pow import use_large_pages

    workers = cores or min(os.cpu_count() or 1, MAX_THREADS)
    use_large_pages(randomx_large_pages)
    host, _ = parse_address(bind_address, what="bind address")
    if not is_loopback(host):
        _log(
            f"warning: {host} is not a loopback address: other machines can reach the API, "
            "which has no authentication: anyone who can connect can keep its workers busy (bind "
            "127.0.0.1, or allow only your PoST services in a firewall)"
        )
    service = K2powService(
        bind_address,
        cores=workers,
        fast=randomx_mode == "fast",
        on_event=lambda e: _log(_describe(e)),
        job_deadline_s=job_deadline_s,
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
