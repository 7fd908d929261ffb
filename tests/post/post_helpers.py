"""Helpers shared by the PoST tests: constants and a small data-set builder."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mergetool.post.initialize import initialize, plan_init
from mergetool.post.params import PRESETS, PostParams

VECTORS = Path(__file__).resolve().parents[1] / "data" / "vectors"

NODE_ID = bytes(range(32))
ATX_ID = bytes(range(32, 64))
CHALLENGE = bytes(range(100, 132))
EASY_POW = b"\xff" * 32


@dataclass(frozen=True)
class DataSet:
    """A PoST data directory written by the numpy backend, and the parameters behind it."""

    directory: Path
    params: PostParams
    num_units: int
    node_id: bytes = NODE_ID
    atx_id: bytes = ATX_ID


def make_params(**changes: object) -> PostParams:
    """The test preset (N = 2, 256 labels per unit) with ``changes`` applied."""
    return replace(PRESETS["test"], **changes)  # type: ignore[arg-type]


def build(
    directory: Path, params: PostParams, num_units: int, max_file_size: int, **kw: object
) -> DataSet:
    plan = plan_init(
        directory,
        node_id=kw.get("node_id", NODE_ID),  # type: ignore[arg-type]
        commitment_atx_id=ATX_ID,
        num_units=num_units,
        labels_per_unit=params.labels_per_unit,
        scrypt_n=params.scrypt_n,
        max_file_size=max_file_size,
        vrf_difficulty=EASY_POW,
    )
    initialize(plan, backend="numpy")
    return DataSet(directory, params, num_units, node_id=kw.get("node_id", NODE_ID))  # type: ignore[arg-type]
