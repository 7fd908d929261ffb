"""Serve fixtures: the node stand-in (always stopped) and small PoST data folders."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mergetool.post.initialize import initialize, plan_init
from mergetool.post.params import PRESETS
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import ATX_ID, FILE_SIZE, NODE_IDS, UNITS


@pytest.fixture
def node() -> Iterator[NodeStandin]:
    """A started node stand-in re-sending GenProof every 50 ms; stopped even on failure."""
    standin = NodeStandin(poll_interval_s=0.05)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture(scope="session")
def post_templates(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One initialised PoST folder per node id in NODE_IDS (test preset); copy before use."""
    root = tmp_path_factory.mktemp("serve-post")
    params = PRESETS["test"]
    folders = []
    for index, node_id in enumerate(NODE_IDS):
        plan = plan_init(
            root / f"id{index}", node_id=node_id, commitment_atx_id=ATX_ID, num_units=UNITS,
            labels_per_unit=params.labels_per_unit, scrypt_n=params.scrypt_n,
            max_file_size=FILE_SIZE, vrf_difficulty=params.pow_difficulty,
        )  # fmt: skip
        initialize(plan, backend="numpy")
        folders.append(root / f"id{index}")
    return folders


@pytest.fixture
def post_dirs(tmp_path: Path, post_templates: list[Path]) -> Callable[[int], list[Path]]:
    """``post_dirs(n)``: fresh copies of the first n PoST folders, in ``tmp_path``."""

    def make(count: int = 1) -> list[Path]:
        return [
            Path(shutil.copytree(src, tmp_path / f"post{i}"))
            for i, src in enumerate(post_templates[:count])
        ]

    return make
