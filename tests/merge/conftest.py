"""Fixtures for merge tests: a source and a target node that merge cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergetool.node.fixtures import FixtureNode, build_node


@pytest.fixture
def src(tmp_path: Path) -> FixtureNode:
    return build_node(tmp_path / "src", identities=["s1", "s2"], prefix="src-")


@pytest.fixture
def dst(tmp_path: Path) -> FixtureNode:
    return build_node(tmp_path / "dst", identities=["d1"], prefix="dst-")
