"""``mergetool post prove`` and ``profile``: the proving scan."""

from __future__ import annotations

import math
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mergetool._progress import for_stage
from mergetool.cli._errors import MergetoolCommand
from mergetool.cli._signals import sigterm_raises
from mergetool.cli.post._options import (
    HEX32,
    echo_json,
    json_option,
    network_params,
    nonces_option,
    preset_option,
    proving_options,
)
from mergetool.post.params import MAX_THREADS
from mergetool.post.progress import ProveReporter

if TYPE_CHECKING:
    from mergetool.cli.progress import Bars
    from mergetool.post.pow import PowProgress
    from mergetool.serve.post_rs import OperatorServer


def _exit_on_sigterm() -> AbstractContextManager[None]:
    """SIGTERM ends the command like Ctrl-C does: through the ``with`` blocks that stop the
    worker processes (the default action would kill this process alone and leave them)."""
    return sigterm_raises(lambda signum: SystemExit(128 + signum))


@click.command(cls=MergetoolCommand)
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="PoST data folder (as written by `mergetool post init`).",
)
@click.option("--challenge", type=HEX32, required=True, help="The 32-byte PoET challenge (hex).")
@proving_options
@click.option("--operator-address", help="Serve GET /status on HOST:PORT while proving.")
@preset_option
@json_option
def prove(
    directory: Path,
    challenge: bytes,
    k1: int | None,
    k2: int | None,
    pow_difficulty: bytes | None,
    scrypt_n: int | None,
    labels_per_unit: int | None,
    nonces: int,
    threads: int,
    randomx_mode: str,
    operator_address: str | None,
    preset: str,
    as_json: bool,
) -> None:
    """Generate a proof for CHALLENGE, verify it, and print it as JSON."""

    from mergetool.cli.progress import progress_bar
    from mergetool.post.prove import prove_folder
    from mergetool.serve.post_rs import OperatorServer

    params = network_params(
        preset, k1=k1, k2=k2, pow_difficulty=pow_difficulty, scrypt_n=scrypt_n,
        labels_per_unit=labels_per_unit,
    )  # fmt: skip
    server = OperatorServer(operator_address) if operator_address is not None else None
    with _exit_on_sigterm(), server or nullcontext(), progress_bar(not as_json) as bars:
        proof = prove_folder(
            directory, challenge, params, nonces=nonces, threads=threads,
            randomx_fast=randomx_mode == "fast", reporter=_ProveReporter(server, bars),
        )  # fmt: skip
        if server:
            server.set_done()
    echo_json(proof.to_dict())


class _ProveReporter(ProveReporter):
    """Shows a proving run on the bars and the operator API: k2pow, then the scan, per pass."""

    def __init__(self, server: OperatorServer | None, bars: Bars | None) -> None:
        self.server, self.bars = server, bars
        self.nonces = (0, 0)

    def pass_started(self, start: int, end: int) -> None:
        self.nonces = (start, end)
        if self.server:
            self.server.set_proving(start, end, 0)

    def k2pow(self, progress: PowProgress) -> None:
        if self.server:
            self.server.set_proving(*self.nonces, 0, k2pow=progress.to_dict())
        if self.bars:
            self.bars("k2pow (groups)", progress.groups_done, progress.groups_total)
            self.bars.note("k2pow (groups)", f"{progress.hashes_per_s:,.0f} hashes/s")

    def scanned(self, done: int, total: int) -> None:
        if self.server:
            self.server.set_proving(*self.nonces, done)
        if self.bars:
            self.bars("proving", done, total)


@click.command(cls=MergetoolCommand)
@click.option(
    "--data-size",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="GiB of data to scan.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to keep scanning.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    default=1,
    show_default=True,
    help="Worker processes for the scan.",
)
@nonces_option
@click.option(
    "--data-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to scan; created with random data if missing, never modified [temporary file].",
)
@click.option(
    "--keep-cache", is_flag=True, help="Do not drop the file's cached pages: measure compute only."
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A PoST data folder: its disk's read speed is measured with a short read (<= 1 GiB).",
)
@click.option(
    "--read-speed",
    type=click.FloatRange(min=0, min_open=True),
    help="The disk's read speed in GiB/s (instead of measuring it with --dir).",
)
@click.option(
    "--cycle-gap",
    type=click.FloatRange(min=0, min_open=True),
    default=12.0,
    show_default=True,
    help="Hours in which a proof must be delivered (the node's cycle gap).",
)
@preset_option
@json_option
def profile(
    data_size: float,
    duration: float,
    threads: int,
    nonces: int,
    data_file: Path | None,
    keep_cache: bool,
    directory: Path | None,
    read_speed: float | None,
    cycle_gap: float,
    preset: str,
    as_json: bool,
) -> None:
    """Measure the proving scan speed for a nonce and thread count, and how many space units
    one pass covers in the cycle gap (bound by the scan or by the disk's read speed)."""
    from mergetool._exceptions import UsageProblem
    from mergetool.cli.progress import progress_bar
    from mergetool.post.fit import data_files, fit_cycle_gap, measure_read_speed
    from mergetool.post.params import preset as preset_params
    from mergetool.post.profile import can_drop_cache, check_profile
    from mergetool.post.profile import profile as run

    # every value is checked before any work (a file written, a disk read, a pass run)
    check_profile(data_size_gib=data_size, duration=duration, threads=threads, nonces=nonces)
    for flag, value in (("--cycle-gap", cycle_gap), ("--read-speed", read_speed)):
        if value is not None and not math.isfinite(value):
            raise UsageProblem(f"{flag} must be a finite number, got {value}")
    if directory is not None and read_speed is not None:
        raise UsageProblem("give --dir (to measure the disk) or --read-speed, not both")
    if directory is not None:
        data_files(directory)
    labels_per_unit = preset_params(preset).labels_per_unit
    if not as_json:
        if keep_cache:
            click.echo("Keeping cached pages: this measures compute only.", err=True)
        elif can_drop_cache():
            click.echo(
                "Dropping the file's cached pages before each pass (posix_fadvise DONTNEED).",
                err=True,
            )
        else:
            click.echo(
                f"Cannot drop cached pages on {sys.platform}: reads may come from RAM.", err=True
            )
    with progress_bar(not as_json) as update:
        result = run(
            data_size_gib=data_size, duration=duration, threads=threads, nonces=nonces,
            data_file=data_file, keep_cache=keep_cache,
            progress=for_stage(update, "profiling (ms)"),
        )  # fmt: skip
    source = "given" if read_speed is not None else None
    if directory is not None:
        read_speed, source = measure_read_speed(directory, drop_cache=not keep_cache), "measured"
    fit = fit_cycle_gap(
        result.speed_gib_s,
        labels_per_unit=labels_per_unit,
        read_gib_s=read_speed,
        read_source=source,
        cycle_gap_s=cycle_gap * 3600,
    )
    if as_json:
        echo_json({**result.to_dict(), "nonces": nonces, "threads": threads, **fit.to_dict()})
    else:
        click.echo(render_profile(result, fit, nonces=nonces, threads=threads, directory=directory))


def render_profile(
    result: Any, fit: Any, *, nonces: int, threads: int, directory: Path | None
) -> str:
    """The human summary of ``post profile``: speeds, one pass per unit, units in the gap."""
    plural = "" if threads == 1 else "s"
    cache = "cached pages dropped" if result.cache_dropped else "cached pages kept"
    lines = [
        f"Scan speed: {result.speed_gib_s:.3f} GiB/s ({nonces} nonces, {threads} thread{plural}; "
        f"{result.passes} pass{'' if result.passes == 1 else 'es'} in {result.time_s:.1f} s, "
        f"{cache})"
    ]
    if fit.read_source == "measured":
        lines.append(f"Disk read speed: {fit.read_gib_s:.3f} GiB/s (a short read of {directory})")
    elif fit.read_source == "given":
        lines.append(f"Disk read speed: {fit.read_gib_s:.3f} GiB/s (--read-speed)")
    else:
        lines.append("Disk read speed: not known (give --dir to measure it, or --read-speed)")
    bound = "the disk" if fit.bound == "disk" else "the scan"
    lines.append(
        f"One pass: {_duration(fit.pass_s_per_unit)} per space unit "
        f"({_gib(fit.unit_gib)}), bound by {bound}"
    )
    lines.append(
        f"Fits a {fit.cycle_gap_s / 3600:g} h cycle gap: {fit.units} space unit"
        f"{'' if fit.units == 1 else 's'} in one pass (k2pow and the node's fetch not included)"
    )
    if fit.read_source is None:
        lines.append("(The disk may be slower than the scan: measure it before relying on this.)")
    return "\n".join(lines)


def _gib(value: float) -> str:
    return f"{value:g} GiB" if value >= 1 else f"{value * 1024 * 1024:g} KiB"


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"
