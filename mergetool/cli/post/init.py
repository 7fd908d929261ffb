"""``mergetool post init``: write PoST data (resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.cli.post._options import (
    HEX32,
    backend_options,
    echo_json,
    json_option,
    network_params,
    preset_option,
    progress_for,
)
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET


@click.command(cls=MergetoolCommand)
@click.option(
    "--dir",
    "directory",
    # A str, not a Path: Path("") is the current directory, and an empty --dir is a mistake.
    type=click.Path(file_okay=False),
    required=True,
    help="PoST data directory.",
)
@click.option(
    "--node-id",
    type=HEX32,
    help="Node id (hex). Without it: the one in DIR/identity.key, or a new identity written "
    "there (only for a directory without PoST data).",
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
@backend_options
@click.option(
    "--memory-budget",
    type=click.IntRange(min=1 << 20),
    default=DEFAULT_MEMORY_BUDGET,
    show_default=True,
    help="Bytes the numpy backend may use.",
)
@preset_option
@json_option
def init(
    directory: str,
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
    from contextlib import nullcontext

    from mergetool._exceptions import InvalidParameters
    from mergetool._lock import lock_folder

    if not directory:
        raise InvalidParameters(
            "--dir is empty", hint="Name the PoST data directory (--dir . for the current one)."
        )
    params = network_params(preset, labels_per_unit=labels_per_unit, scrypt_n=scrypt_n)
    params.check_units(num_units)
    # Everything is checked here and in `initialize` before anything is written; a new
    # identity.key is only created once the run goes ahead.
    data_dir = Path(directory)
    # A folder a `serve` or `post prove` is using must not be rewritten under it; a folder
    # that does not exist yet cannot be in use.
    with lock_folder(data_dir) if data_dir.is_dir() else nullcontext():
        _init(data_dir, node_id, commitment_atx, num_units, max_file_size, vrf_difficulty,
              backend, device, memory_budget, params, as_json)  # fmt: skip


def _init(
    data_dir: Path,
    node_id: bytes | None,
    commitment_atx: bytes,
    num_units: int,
    max_file_size: int,
    vrf_difficulty: bytes | None,
    backend: str,
    device: str | None,
    memory_budget: int,
    params: Any,
    as_json: bool,
) -> None:
    from mergetool.cli.render import progress_bar
    from mergetool.post.initialize import initialize, plan_init

    plan = plan_init(
        data_dir,
        node_id=node_id,
        commitment_atx_id=commitment_atx,
        num_units=num_units,
        labels_per_unit=params.labels_per_unit,
        scrypt_n=params.scrypt_n,
        max_file_size=max_file_size,
        vrf_difficulty=vrf_difficulty or params.pow_difficulty,
    )
    identity_file = plan.identity_file
    with progress_bar(not as_json) as update:
        result = initialize(
            plan,
            backend=backend,
            device=device,
            memory_budget=memory_budget,
            progress=progress_for(update, "labels"),
        )
    meta = result.metadata
    doc = {
        "dir": str(data_dir),
        "node_id": meta.node_id.hex(),
        "identity_file": str(identity_file) if identity_file else None,
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
        echo_json(doc)
        return
    click.echo(
        f"Initialised {data_dir}: {meta.num_units} unit(s) x {meta.labels_per_unit} labels, "
        f"node {meta.node_id.hex()}"
    )
    click.echo(
        f"  backend {result.backend}; wrote {result.files_written} file(s), kept {plan.kept_files}"
    )
    click.echo(f"  VRF nonce: {meta.nonce if meta.nonce is not None else 'none found'}")
    if identity_file:
        click.echo(f"  identity: {identity_file} (move it into the node's identities/ folder)")
