"""``mergetool post``: initialise, prove, verify and profile PoST data (post-rs compatible).

Only click is imported at module level; the PoST engine (numpy, blake3, RandomX,
cryptography) is imported inside each command so ``mergetool --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mergetool.cli._errors import MergetoolGroup, traceback_option

_DEVICES = "mergetool.cli.post_devices"


class _PostGroup(MergetoolGroup):
    """Adds ``devices`` (owned by the OpenCL backend) only when its module is installed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = list(super().list_commands(ctx))
        if importlib.util.find_spec(_DEVICES) is not None:
            names.append("devices")
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "devices":
            try:
                return getattr(importlib.import_module(_DEVICES), "devices")  # noqa: B009
            except ImportError:
                return None
        return super().get_command(ctx, cmd_name)


class Hex(click.ParamType):
    """Hex bytes, optionally of an exact length."""

    name = "HEX"

    def __init__(self, length: int | None = None) -> None:
        self.length = length

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> bytes:
        if isinstance(value, bytes):
            return value
        text = str(value).removeprefix("0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            self.fail(f"{value!r} is not hex", param, ctx)
        if self.length is not None and len(raw) != self.length:
            self.fail(
                f"expected {self.length} bytes ({2 * self.length} hex digits), got {len(raw)}",
                param,
                ctx,
            )
        return raw


HEX32 = Hex(32)


def _preset_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--preset",
        type=click.Choice(["mainnet", "test"]),
        default="mainnet",
        show_default=True,
        help="Network parameters for options left unset (test: tiny values, see docs/post.md).",
    )(f)


def _json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--json", "as_json", is_flag=True, help="Machine-readable output, no progress bar."
    )(f)


def _params(preset_name: str, **overrides: Any) -> Any:
    from dataclasses import replace

    from mergetool.post.params import preset

    return replace(preset(preset_name), **{k: v for k, v in overrides.items() if v is not None})


def _bar(
    update: Callable[[str, int, int], None] | None, stage: str
) -> Callable[[int, int], None] | None:
    if update is None:
        return None
    return lambda done, total: update(stage, done, total)


def _echo_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2))


@click.group(cls=_PostGroup)
@traceback_option
def post(traceback: bool) -> None:
    """Initialise, prove and verify PoST data (bit-compatible with post-rs / postcli)."""


def _backend_options(f: Any) -> Any:
    """``--backend`` and ``--device``, shared by every command that computes labels."""
    f = click.option("--device", help="OpenCL device id (see `mergetool post devices`).")(f)
    return click.option(
        "--backend",
        type=click.Choice(["auto", "numpy", "opencl"]),
        default="auto",
        show_default=True,
        help="Where labels are computed (auto: OpenCL when a device is usable, else numpy).",
    )(f)


@post.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="PoST data directory.",
)
@click.option(
    "--node-id",
    type=HEX32,
    help="Node id (hex). Without it a new identity is written to DIR/identity.key.",
)
@click.option("--commitment-atx", type=HEX32, required=True, help="Commitment ATX id (hex).")
@click.option(
    "--num-units", type=click.IntRange(min=1), required=True, help="Space units to initialise."
)
@click.option("--labels-per-unit", type=click.IntRange(min=1), help="Labels per unit [preset].")
@click.option(
    "--max-file-size",
    type=click.IntRange(min=16),
    default=1 << 32,
    show_default=True,
    help="Bytes per postdata_N.bin.",
)
@click.option("--scrypt-n", type=click.IntRange(min=2), help="scrypt N [preset].")
@click.option(
    "--vrf-difficulty",
    type=HEX32,
    help="VRF nonce difficulty (hex, 32 bytes) [preset pow difficulty].",
)
@_backend_options
@click.option(
    "--memory-budget",
    type=click.IntRange(min=1 << 20),
    default=1 << 30,
    show_default=True,
    help="Bytes the numpy backend may use.",
)
@_preset_option
@_json_option
def init(
    directory: Path,
    node_id: bytes | None,
    commitment_atx: bytes,
    num_units: int,
    labels_per_unit: int | None,
    max_file_size: int,
    scrypt_n: int | None,
    vrf_difficulty: bytes | None,
    backend: str,
    device: str | None,
    memory_budget: int,
    preset: str,
    as_json: bool,
) -> None:
    """Write labels into DIR/postdata_N.bin and the metadata; re-run to resume."""
    from mergetool.cli.render import progress_bar
    from mergetool.post.initialize import initialize, load_or_create_identity, plan_init

    params = _params(preset, labels_per_unit=labels_per_unit, scrypt_n=scrypt_n)
    params.check_units(num_units)
    created = node_id is None
    if node_id is None:
        node_id = load_or_create_identity(directory)
    plan = plan_init(
        directory,
        node_id=node_id,
        commitment_atx_id=commitment_atx,
        num_units=num_units,
        labels_per_unit=params.labels_per_unit,
        scrypt_n=params.scrypt_n,
        max_file_size=max_file_size,
        vrf_difficulty=vrf_difficulty or params.pow_difficulty,
    )
    with progress_bar(not as_json) as update:
        result = initialize(
            plan,
            backend=backend,
            device=device,
            memory_budget=memory_budget,
            progress=_bar(update, "labels"),
        )
    meta = result.metadata
    doc = {
        "dir": str(directory),
        "node_id": meta.node_id.hex(),
        "identity_file": str(directory / "identity.key") if created else None,
        "backend": result.backend,
        "num_units": meta.num_units,
        "labels_per_unit": meta.labels_per_unit,
        "files_kept": plan.kept_files,
        "files_written": result.files_written,
        "labels_written": result.labels_written,
        "nonce": meta.nonce,
        "nonce_value": result.nonce_value.hex() if result.nonce_value else None,
    }
    if as_json:
        _echo_json(doc)
        return
    click.echo(
        f"Initialised {directory}: {meta.num_units} unit(s) x {meta.labels_per_unit} labels, "
        f"node {meta.node_id.hex()}"
    )
    click.echo(
        f"  backend {result.backend}; wrote {result.files_written} file(s), kept {plan.kept_files}"
    )
    click.echo(f"  VRF nonce: {meta.nonce if meta.nonce is not None else 'none found'}")
    if created:
        click.echo(
            f"  identity: {directory / 'identity.key'} (move it into the node's identities/ folder)"
        )


@post.command()
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
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--randomx-mode",
    type=click.Choice(["fast", "light"]),
    default="light",
    show_default=True,
    help="fast needs 2 GiB RAM.",
)
@click.option("--operator-address", help="Serve GET /status on HOST:PORT while proving.")
@_preset_option
@_json_option
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

    from mergetool.cli.render import progress_bar
    from mergetool.post.metadata import read_metadata
    from mergetool.post.operator_api import OperatorServer
    from mergetool.post.prove import generate_proof
    from mergetool.post.verification import verify_own_proof

    params = _params(preset, k1=k1, k2=k2, pow_difficulty=pow_difficulty, scrypt_n=scrypt_n)
    meta = read_metadata(directory)
    server = OperatorServer(operator_address) if operator_address else None
    fast = randomx_mode == "fast"
    with server or nullcontext(), progress_bar(not as_json) as update:
        bar = _bar(update, "proving")
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
    _echo_json(proof.to_json())


@post.command()
@click.option(
    "--proof",
    "proof_file",
    type=click.File("r"),
    required=True,
    help="Proof JSON file, or - for stdin.",
)
@click.option("--node-id", type=HEX32, required=True)
@click.option("--commitment-atx", type=HEX32, required=True)
@click.option("--challenge", type=HEX32, required=True)
@click.option("--num-units", type=click.IntRange(min=0), required=True)
@click.option("--labels-per-unit", type=click.IntRange(min=1), help="[preset]")
@click.option("--k1", type=click.IntRange(min=1), help="[preset]")
@click.option("--k2", type=click.IntRange(min=1), help="[preset]")
@click.option("--k3", type=click.IntRange(min=1), help="Labels to recompute out of k2 [preset].")
@click.option("--pow-difficulty", type=HEX32, help="[preset]")
@click.option("--scrypt-n", type=click.IntRange(min=2), help="[preset]")
@click.option("--min-units", type=click.IntRange(min=0), help="[preset]")
@click.option("--max-units", type=click.IntRange(min=0), help="[preset]")
@click.option(
    "--mode",
    type=click.Choice(["k3", "all", "one"]),
    default="k3",
    show_default=True,
    help="Which labels to recompute.",
)
@click.option(
    "--index",
    "position",
    type=click.IntRange(min=0),
    default=0,
    help="Position checked with --mode one.",
)
@click.option(
    "--seed", type=Hex(), help="Seed of the k3 pick (hex); random by default, as the node does."
)
@_backend_options
@_preset_option
@_json_option
def verify(
    proof_file: Any,
    node_id: bytes,
    commitment_atx: bytes,
    challenge: bytes,
    num_units: int,
    labels_per_unit: int | None,
    k1: int | None,
    k2: int | None,
    k3: int | None,
    pow_difficulty: bytes | None,
    scrypt_n: int | None,
    min_units: int | None,
    max_units: int | None,
    mode: str,
    position: int,
    seed: bytes | None,
    backend: str,
    device: str | None,
    preset: str,
    as_json: bool,
) -> None:
    """Verify a proof like the node does; exit 0 when valid, 1 with the reason when not."""
    import os

    from mergetool.post.backends import get_backend
    from mergetool.post.prove import Proof
    from mergetool.post.verification import VerifyMode, verify_proof

    params = _params(
        preset, labels_per_unit=labels_per_unit, k1=k1, k2=k2, k3=k3, pow_difficulty=pow_difficulty,
        scrypt_n=scrypt_n, min_num_units=min_units, max_num_units=max_units,
    )  # fmt: skip
    proof = Proof.from_json(proof_file.read())
    labels = get_backend(backend, device)
    kind = {"k3": "subset", "all": "all", "one": "one"}[mode]
    verify_proof(
        proof,
        node_id=node_id,
        commitment_atx_id=commitment_atx,
        challenge=challenge,
        num_units=num_units,
        params=params,
        mode=VerifyMode(kind, position, os.urandom(32) if seed is None else seed),
        backend=labels,
    )
    if as_json:
        _echo_json({"valid": True, "nonce": proof.nonce, "backend": labels.name})
    else:
        click.echo("Proof is valid.")


@post.command("verify-data")
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
)
@click.option(
    "--fraction",
    type=click.FloatRange(min=0, min_open=True, max=100),
    required=True,
    help="Percent of labels to check per file.",
)
@click.option("--scrypt-n", type=click.IntRange(min=2), help="[preset]")
@click.option("--from-file", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--to-file", type=click.IntRange(min=0), help="Last file to check (inclusive) [last]."
)
@click.option("--seed", type=int, help="Random seed for the sample (reproducible runs).")
@_backend_options
@_preset_option
@_json_option
def verify_data(
    directory: Path,
    fraction: float,
    scrypt_n: int | None,
    from_file: int,
    to_file: int | None,
    seed: int | None,
    backend: str,
    device: str | None,
    preset: str,
    as_json: bool,
) -> None:
    """Recompute a random sample of stored labels; exit 1 listing the bad ones."""
    from mergetool._exceptions import DataVerificationFailed
    from mergetool.cli.render import progress_bar
    from mergetool.post.pos_verification import verify_data as run

    params = _params(preset, scrypt_n=scrypt_n)
    with progress_bar(not as_json) as update:
        report = run(
            directory, fraction=fraction, scrypt_n=params.scrypt_n, from_file=from_file,
            to_file=to_file, seed=seed, progress=_bar(update, "labels"), backend=backend,
            device=device,
        )  # fmt: skip
    if not report.ok:
        raise DataVerificationFailed(report.to_json())
    if as_json:
        _echo_json(report.to_json())
    else:
        click.echo(f"OK: {report.checked} sampled labels in {len(report.files)} file(s) match.")


@post.command()
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
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--nonces", type=click.IntRange(min=16), default=128, show_default=True)
@click.option(
    "--data-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to scan (created with random data if short) [temporary file].",
)
@click.option(
    "--keep-cache", is_flag=True, help="Do not drop the file's cached pages: measure compute only."
)
@_json_option
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
    from mergetool.cli.render import progress_bar
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
            data_file=data_file, keep_cache=keep_cache, progress=_bar(update, "profiling (ms)"),
        )  # fmt: skip
    _echo_json(result.to_json())
