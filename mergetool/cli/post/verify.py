"""``mergetool post verify`` and ``verify-data``: check proofs and stored labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mergetool._progress import for_stage
from mergetool.cli._errors import MergetoolCommand
from mergetool.cli.post._options import (
    HEX32,
    Hex,
    backend_options,
    echo_json,
    json_option,
    network_params,
    preset_option,
)


def _read_proof(name: str, error: type[Exception]) -> bytes:
    """The bytes of the proof file, or of standard input for ``-``: at most MAX_PROOF_BYTES."""
    import sys

    from mergetool._exceptions import InvalidProof
    from mergetool.post.proof import MAX_PROOF_BYTES

    if name == "-":
        if sys.stdin is None or not hasattr(sys.stdin, "buffer"):
            raise error("--proof -: standard input is closed; give the proof file instead")
        try:
            data = sys.stdin.buffer.read(MAX_PROOF_BYTES + 1)
        except OSError as exc:
            raise error(f"--proof -: cannot read standard input ({exc.strerror or exc})") from exc
    else:
        try:
            with open(name, "rb") as fh:
                data = fh.read(MAX_PROOF_BYTES + 1)
        except OSError as exc:
            raise error(f"{name}: cannot read the proof ({exc.strerror or exc})") from exc
    if len(data) > MAX_PROOF_BYTES:
        raise InvalidProof(
            "malformed proof",
            detail=f"more than {MAX_PROOF_BYTES} bytes; a proof is a few hundred",
        )
    return data


@click.command(cls=MergetoolCommand)
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    required=True,
    help="Proof JSON file, or - for stdin.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The prover's PoST data folder: node id, commitment, units and labels per unit are "
    "read from its postdata_metadata.json (flags given as well must agree with it).",
)
@click.option("--node-id", type=HEX32, help="Node id of the prover (hex) [--dir].")
@click.option("--commitment-atx", type=HEX32, help="Commitment ATX id of its data (hex) [--dir].")
@click.option("--challenge", type=HEX32, required=True, help="The PoET challenge proved (hex).")
@click.option("--num-units", type=click.IntRange(min=0), help="Space units of its data [--dir].")
@click.option(
    "--labels-per-unit", type=click.IntRange(min=1), help="Labels per unit [--dir, else preset]."
)
@click.option("--k1", type=click.IntRange(min=1), help="Label difficulty parameter k1 [preset].")
@click.option("--k2", type=click.IntRange(min=1), help="Labels a proof holds, k2 [preset].")
@click.option("--k3", type=click.IntRange(min=1), help="Labels to recompute out of k2 [preset].")
@click.option("--pow-difficulty", type=HEX32, help="k2pow difficulty (hex, 32 bytes) [preset].")
@click.option("--scrypt-n", type=click.IntRange(min=2), help="scrypt N of the labels [preset].")
@click.option("--min-units", type=click.IntRange(min=0), help="Fewest units allowed [preset].")
@click.option("--max-units", type=click.IntRange(min=0), help="Most units allowed [preset].")
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
    help="Position (0 .. k2-1) of the index checked with --mode one.",
)
@click.option(
    "--seed", type=Hex(), help="Seed of the k3 pick (hex); random by default, as the node does."
)
@backend_options
@preset_option
@json_option
def verify(
    proof_file: str,
    directory: Path | None,
    node_id: bytes | None,
    commitment_atx: bytes | None,
    challenge: bytes,
    num_units: int | None,
    labels_per_unit: int | None,
    k1: int | None,
    k2: int | None,
    k3: int | None,
    pow_difficulty: bytes | None,
    scrypt_n: int | None,
    min_units: int | None,
    max_units: int | None,
    mode: str,
    position: int | None,
    seed: bytes | None,
    backend: str,
    device: str | None,
    preset: str,
    as_json: bool,
) -> None:
    """Verify a proof like the node does; exit 0 when valid, 1 with the reason when not."""
    import os

    from mergetool._exceptions import InvalidParameters, InvalidProof, UsageProblem
    from mergetool.post.backends import get_backend
    from mergetool.post.proof import Proof
    from mergetool.post.verification import VerifyMode, verify_proof

    if (mode == "one") != (position is not None):
        raise InvalidParameters("--index goes with --mode one, and --mode one needs --index")
    given = {
        "--node-id": node_id,
        "--commitment-atx": commitment_atx,
        "--num-units": num_units,
        "--labels-per-unit": labels_per_unit,
    }
    if directory is not None:
        given = _from_metadata(directory, given)
    missing = [
        flag for flag, value in given.items() if value is None and flag != "--labels-per-unit"
    ]
    if missing:
        raise UsageProblem(
            f"missing {', '.join(missing)}: give the prover's PoST data folder with --dir, or "
            "--node-id, --commitment-atx and --num-units"
        )
    node_id, commitment_atx = given["--node-id"], given["--commitment-atx"]
    num_units, labels_per_unit = given["--num-units"], given["--labels-per-unit"]
    params = network_params(
        preset, labels_per_unit=labels_per_unit, k1=k1, k2=k2, k3=k3, pow_difficulty=pow_difficulty,
        scrypt_n=scrypt_n, min_num_units=min_units, max_num_units=max_units,
    )  # fmt: skip
    try:
        proof = Proof.from_json(_read_proof(proof_file, InvalidParameters))
    except InvalidProof as exc:  # name the file at fault
        where = "standard input" if proof_file == "-" else proof_file
        raise InvalidProof(exc.reason, detail=f"{exc.detail} (in {where})") from exc
    labels = get_backend(backend, device)
    kind = {"k3": "subset", "all": "all", "one": "one"}[mode]
    verify_proof(
        proof,
        node_id=node_id,
        commitment_atx_id=commitment_atx,
        challenge=challenge,
        num_units=num_units,
        params=params,
        mode=VerifyMode(kind, position or 0, os.urandom(32) if seed is None else seed),
        backend=labels,
    )
    if as_json:
        echo_json({"format": 1, "valid": True, "nonce": proof.nonce, "backend": labels.name})
    else:
        click.echo("Proof is valid.")


def _from_metadata(directory: Path, given: dict[str, Any]) -> dict[str, Any]:
    """The flags' values, filled in from ``directory``'s metadata; a flag that disagrees with
    it is refused (a proof checked against the wrong data would say nothing)."""
    from mergetool._exceptions import InvalidParameters
    from mergetool.post.metadata import METADATA_FILE, read_metadata

    meta = read_metadata(directory)
    found = {
        "--node-id": (meta.node_id, "NodeId"),
        "--commitment-atx": (meta.commitment_atx_id, "CommitmentAtxId"),
        "--num-units": (meta.num_units, "NumUnits"),
        "--labels-per-unit": (meta.labels_per_unit, "LabelsPerUnit"),
    }
    for flag, value in given.items():
        have, key = found[flag]
        if value is not None and value != have:
            shown = (lambda v: v.hex()) if isinstance(have, bytes) else str
            raise InvalidParameters(
                f"{flag} {shown(value)} differs from {directory / METADATA_FILE} "
                f"({key} {shown(have)})",
                hint="Leave the flag out to use the data's own value, or give the right --dir.",
            )
    return {flag: have for flag, (have, _key) in found.items()}


@click.command("verify-data", cls=MergetoolCommand)
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="PoST data folder to check.",
)
@click.option(
    "--fraction",
    type=click.FloatRange(min=0, min_open=True, max=100),
    required=True,
    help="Percent of labels to check per file.",
)
@click.option("--scrypt-n", type=click.IntRange(min=2), help="scrypt N of the labels [preset].")
@click.option(
    "--from-file",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="First file to check (postdata_N.bin's N).",
)
@click.option(
    "--to-file", type=click.IntRange(min=0), help="Last file to check (inclusive) [last]."
)
@click.option(
    "--seed", type=click.IntRange(min=0), help="Random seed for the sample (reproducible runs)."
)
@backend_options
@preset_option
@json_option
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
    from mergetool._exceptions import DataVerificationFailed, PostError
    from mergetool.cli.progress import progress_bar
    from mergetool.post.pos_verification import verify_data as run

    params = network_params(preset, scrypt_n=scrypt_n)
    with progress_bar(not as_json) as update:
        report = run(
            directory, fraction=fraction, scrypt_n=params.scrypt_n, from_file=from_file,
            to_file=to_file, seed=seed, progress=for_stage(update, "labels"), backend=backend,
            device=device,
        )  # fmt: skip
    if not report.ok:
        raise DataVerificationFailed(report.to_dict())
    if report.checked == 0:  # "OK" would vouch for data that is not there yet
        raise PostError(
            f"{directory}: nothing to check, no label of the selected files is initialized yet",
            hint="Run `mergetool post init` first (it resumes where it stopped).",
        )
    if as_json:
        echo_json(report.to_dict())
        return
    checked = len(report.files) - len(report.not_initialized)
    click.echo(f"OK: {report.checked} sampled labels in {checked} file(s) match.")
    if report.not_initialized:
        first, last = report.not_initialized[0], report.not_initialized[-1]
        click.echo(
            f"Not initialized yet (past the metadata's LastPosition), not checked: "
            f"postdata_{first}.bin .. postdata_{last}.bin"
        )
