"""``mergetool post prove`` and ``profile``: the proving scan."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from mergetool.cli.progress import Bars
    from mergetool.post.operator_api import OperatorServer
    from mergetool.post.pow import PowProgress


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
    nonces: int,
    threads: int,
    randomx_mode: str,
    operator_address: str | None,
    preset: str,
    as_json: bool,
) -> None:
    """Generate a proof for CHALLENGE, verify it, and print it as JSON."""

    from mergetool._lock import lock_folder
    from mergetool.cli.progress import progress_bar
    from mergetool.post.metadata import read_metadata
    from mergetool.post.operator_api import OperatorServer
    from mergetool.post.params import check_data_params
    from mergetool.post.prove import generate_proof
    from mergetool.post.verification import verify_own_proof

    params = network_params(preset, k1=k1, k2=k2, pow_difficulty=pow_difficulty, scrypt_n=scrypt_n)
    meta = read_metadata(directory)
    check_data_params(params, meta.labels_per_unit)
    server = OperatorServer(operator_address) if operator_address is not None else None
    fast = randomx_mode == "fast"
    # One prover per identity: a folder a `serve` (or another prove) is using is refused.
    with (
        lock_folder(directory),
        _exit_on_sigterm(),
        server or nullcontext(),
        progress_bar(not as_json) as bars,
    ):
        reporter = _ProveReporter(server, bars)
        proof = generate_proof(
            directory,
            challenge,
            k1=params.k1,
            k2=params.k2,
            pow_difficulty=params.pow_difficulty,
            nonces=nonces,
            threads=threads,
            randomx_fast=fast,
            progress=reporter.scanned,
            on_pass=reporter.pass_started,
            on_pow=reporter.pow,
        )
        if server:
            server.set_done()
        verify_own_proof(
            proof, meta, challenge, k1=params.k1, k2=params.k2,
            pow_difficulty=params.pow_difficulty, scrypt_n=params.scrypt_n, randomx_fast=fast,
        )  # fmt: skip
    echo_json(proof.to_dict())


class _ProveReporter:
    """Shows a proving run on the bars and the operator API: k2pow, then the scan, per pass."""

    def __init__(self, server: OperatorServer | None, bars: Bars | None) -> None:
        self.server, self.bars = server, bars
        self.nonces = (0, 0)

    def pass_started(self, start: int, end: int) -> None:
        self.nonces = (start, end)
        if self.server:
            self.server.set_proving(start, end, 0)

    def pow(self, progress: PowProgress) -> None:
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
@json_option
def profile(
    data_size: float,
    duration: float,
    threads: int,
    nonces: int,
    data_file: Path | None,
    keep_cache: bool,
    as_json: bool,
) -> None:
    """Measure the proving scan speed (GiB/s) for a nonce count and thread count."""
    from mergetool.cli.progress import progress_bar
    from mergetool.post.profile import can_drop_cache
    from mergetool.post.profile import profile as run

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
    echo_json(result.to_dict())
