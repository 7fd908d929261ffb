"""``mergetool post prove`` and ``profile``: the proving scan."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.cli.post._options import (
    HEX32,
    echo_json,
    json_option,
    network_params,
    preset_option,
)
from mergetool.post.params import MAX_THREADS
from mergetool.post.progress import for_stage


@click.command(cls=MergetoolCommand)
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
)
@click.option("--challenge", type=HEX32, required=True, help="The 32-byte PoET challenge (hex).")
@click.option("--k1", type=click.IntRange(min=1), help="[preset]")
@click.option("--k2", type=click.IntRange(min=1), help="[preset]")
@click.option("--pow-difficulty", type=HEX32, help="k2pow difficulty (hex, 32 bytes) [preset].")
@click.option(
    "--scrypt-n",
    type=click.IntRange(min=2),
    help="scrypt N, to check the proof before printing it [preset].",
)
@click.option(
    "--nonces",
    type=click.IntRange(min=16),
    default=128,
    show_default=True,
    help="Nonces per pass (multiple of 16).",
)
@click.option(
    "--threads", type=click.IntRange(min=1, max=MAX_THREADS), default=1, show_default=True
)
@click.option(
    "--randomx-mode",
    type=click.Choice(["fast", "light"]),
    default="light",
    show_default=True,
    help="fast needs 2 GiB RAM.",
)
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
    from contextlib import nullcontext

    from mergetool.cli.progress import progress_bar
    from mergetool.post.metadata import read_metadata
    from mergetool.post.operator_api import OperatorServer
    from mergetool.post.prove import generate_proof
    from mergetool.post.verification import verify_own_proof

    params = network_params(preset, k1=k1, k2=k2, pow_difficulty=pow_difficulty, scrypt_n=scrypt_n)
    meta = read_metadata(directory)
    server = OperatorServer(operator_address) if operator_address is not None else None
    fast = randomx_mode == "fast"
    with server or nullcontext(), progress_bar(not as_json) as update:
        bar = for_stage(update, "proving")
        current = [0, 0]

        def on_pass(start: int, end: int) -> None:
            current[:] = [start, end]
            if server:
                server.set_proving(start, end, 0)

        def on_progress(done: int, total: int) -> None:
            if server:
                server.set_proving(current[0], current[1], done)
            if bar:
                bar(done, total)

        proof = generate_proof(
            directory,
            challenge,
            k1=params.k1,
            k2=params.k2,
            pow_difficulty=params.pow_difficulty,
            nonces=nonces,
            threads=threads,
            randomx_fast=fast,
            progress=on_progress,
            on_pass=on_pass,
        )
        if server:
            server.set_done()
        verify_own_proof(
            proof, meta, challenge, k1=params.k1, k2=params.k2,
            pow_difficulty=params.pow_difficulty, scrypt_n=params.scrypt_n, randomx_fast=fast,
        )  # fmt: skip
    echo_json(proof.to_dict())


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
    "--threads", type=click.IntRange(min=1, max=MAX_THREADS), default=1, show_default=True
)
@click.option("--nonces", type=click.IntRange(min=16), default=128, show_default=True)
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
