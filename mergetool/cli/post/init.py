"""``mergetool post init``: write PoST data (resumable)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mergetool._exceptions import InvalidParameters
from mergetool._progress import for_stage
from mergetool.cli._errors import MergetoolCommand
from mergetool.cli.post._options import (
    HEX32,
    backend_options,
    echo_json,
    json_option,
    network_params,
    preset_option,
)
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET

if TYPE_CHECKING:
    from mergetool.post.initialize import InitResult


@click.command(cls=MergetoolCommand)
@click.option(
    "--dir",
    "directory",
    # A str, not a Path: Path("") is the current directory, and an empty --dir is a mistake.
    type=click.Path(file_okay=False),
    required=True,
    help="PoST data folder.",
)
@click.option(
    "--node-id",
    type=HEX32,
    help="Node id (hex). Without it: the one in DIR/identity.key, or a new identity written "
    "there (only for a folder without PoST data).",
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
@click.option(
    "--no-space-check",
    is_flag=True,
    help="Start even when the data does not fit the free space of the file system.",
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
    no_space_check: bool,
    preset: str,
    as_json: bool,
) -> None:
    """Write labels into DIR/postdata_N.bin and the metadata; re-run to resume."""
    from contextlib import nullcontext

    from mergetool._lock import lock_folder
    from mergetool.cli.progress import progress_bar
    from mergetool.post.initialize import execute_init, plan_init

    if not directory:
        raise InvalidParameters(
            "--dir is empty", hint="Name the PoST data folder (--dir . for the current one)."
        )
    params = network_params(preset, labels_per_unit=labels_per_unit, scrypt_n=scrypt_n)
    params.check_units(num_units)
    # Everything is checked here and in `initialize` before anything is written; a new
    # identity.key is only created once the run goes ahead.
    data_dir = Path(directory)
    # A folder a `serve` or `post prove` is using must not be rewritten under it; a folder
    # that does not exist yet cannot be in use.
    with lock_folder(data_dir) if data_dir.is_dir() else nullcontext():
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
        with progress_bar(not as_json) as update:
            result = execute_init(
                plan,
                backend=backend,
                device=device,
                memory_budget=memory_budget,
                progress=for_stage(update, "labels"),
                space_check=not no_space_check,
            )
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(_summary(result))


def _summary(result: InitResult) -> str:
    """What ``post init`` says when it is done."""
    meta = result.metadata
    lines = [
        f"Initialised {result.directory}: {meta.num_units} unit(s) x {meta.labels_per_unit} "
        f"labels, node {meta.node_id.hex()}",
        f"  backend {result.backend}; wrote {result.files_written} file(s), "
        f"kept {result.files_kept}",
        f"  VRF nonce: {meta.nonce if meta.nonce is not None else 'none found'}",
    ]
    if result.identity_file:
        post_dir = shlex.quote(str(result.directory))
        lines.append(f"  identity: {result.identity_file}")
        lines.append(
            f"  To run it on a node: mergetool add-identity --post-dir {post_dir} --to NODE_DATA"
        )
    return "\n".join(lines)
