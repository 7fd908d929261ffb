"""Planning (what a dry run shows) writes nothing anywhere: no temporary file either."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from mergetool.merge import plan_merge
from mergetool.node.fixtures import build_node


def test_planning_creates_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = build_node(tmp_path / "src", identities=["s"], prefix="s-", wal_identities=["w"])
    dst = build_node(tmp_path / "dst", identities=["d"], prefix="d-")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("planning tried to create a temporary file")

    for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile"):
        monkeypatch.setattr(tempfile, name, refuse)
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert [k.target_name for k in plan.keys] == ["s.key", "w.key"]
    assert plan.identities and sum(i.total for i in plan.identities) == 12
