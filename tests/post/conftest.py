"""Shared PoST fixtures: the known-answer vectors and a small initialised data directory."""

from __future__ import annotations

import json

import pytest

from tests.post.post_helpers import VECTORS, DataSet, build, make_params


@pytest.fixture(scope="session")
def vectors() -> dict[str, object]:
    return json.loads((VECTORS / "scrypt-jane-labels.json").read_text())


@pytest.fixture(scope="session")
def randomx_vector() -> dict[str, str]:
    return json.loads((VECTORS / "randomx.json").read_text())


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DataSet:
    """2 units x 256 labels in 4 files of 128 labels (read-only for tests: copy to change)."""
    return build(tmp_path_factory.mktemp("post"), make_params(), 2, 2048)
