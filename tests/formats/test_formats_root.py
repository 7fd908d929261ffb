"""The formats' one home: the top-level ``schemas/`` folder, found by the package at run time."""

from __future__ import annotations

from pathlib import Path

from mergetool._formats import formats_root, node_schema_text
from mergetool.node.drift import expected_schema

REPO = Path(__file__).resolve().parents[2]


def test_a_source_tree_reads_its_own_schemas_folder() -> None:
    # Never another checkout's installed copy: the tests check this tree's formats.
    assert Path(str(formats_root())) == REPO / "schemas"


def test_the_drift_check_reads_the_node_schemas_from_there() -> None:
    text = (REPO / "schemas" / "node" / "local-v9.sql").read_text()
    assert node_schema_text(9) == text
    assert expected_schema(9) == text


def test_the_package_holds_no_second_copy() -> None:
    package = REPO / "mergetool"
    assert sorted(package.rglob("*.sql")) == []
    assert sorted(package.rglob("*.schema.json")) == []
