"""Two runs on one target folder, as real processes started at many offsets: one lock per
folder serialises them, so no start order leaves a half-merged node or one identity twice."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mergetool.node.fixtures import build_node, test_key
from mergetool.node.folder import NodeFolder
from mergetool.node.inspect import inspect_node
from tests.postdata_helpers import post_folder as post_dir

#: Seconds between the two starts; process start-up (~0.5 s) spreads them further.
OFFSETS = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6)
_BAD = {"rows_without_key", "key_without_rows", "duplicate_identity"}
_CLI = "import sys; from mergetool.cli.{module} import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def spawn() -> Iterator:
    """``spawn(module, *args)``: a real ``merge-nodes`` or ``mergetool`` process."""
    started: list[subprocess.Popen[str]] = []

    def start(module: str, *args: object) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-c", _CLI.format(module=module), *map(str, args)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err and "bug in mergetool" not in err, err
    return proc.returncode, err


def _pair(spawn, offset: float, first: list[object], second: list[object], module: str):
    a = spawn(module, *first)
    time.sleep(offset)
    b = spawn(module, *second)
    return _finish(a), _finish(b)


def _codes(target: Path) -> set[str]:
    return {w.code for w in inspect_node(target).warnings}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sources and a target, built once. Large enough (120 identities per source, whose
    keys are staged and fsynced one by one) that two unserialised runs overlap."""
    root = tmp_path_factory.mktemp("race")
    build_node(root / "a", identities=[f"a{i}" for i in range(120)], prefix="race-a-")
    build_node(root / "b", identities=[f"b{i}" for i in range(120)], prefix="race-b-")
    build_node(root / "t", identities=["t1"], prefix="race-t-")
    return root


def _nodes(pristine: Path, tmp_path: Path) -> tuple[NodeFolder, NodeFolder, NodeFolder]:
    for name in ("a", "b", "t"):
        shutil.copytree(pristine / name, tmp_path / name)
    return NodeFolder(tmp_path / "a"), NodeFolder(tmp_path / "b"), NodeFolder(tmp_path / "t")


_MERGED = sorted([*(f"a{i}.key" for i in range(120)), *(f"b{i}.key" for i in range(120)), "t1.key"])


@pytest.mark.parametrize("offset", OFFSETS)
def test_two_merges_into_one_target_never_half_merge(
    pristine: Path, tmp_path: Path, spawn, offset: float
) -> None:
    a, b, t = _nodes(pristine, tmp_path)
    runs = [["-f", a.root, "-t", t.root], ["-f", b.root, "-t", t.root]]
    outcomes = _pair(spawn, offset, runs[0], runs[1], "merge_nodes")

    for code, err in outcomes:
        assert code == 0 or (code == 1 and f"{t.root} is locked by process" in err), err
    assert not _codes(t.root) & _BAD
    assert not list(t.identities_dir.glob("*.mergetool-staged"))
    for run, (code, _) in zip(runs, outcomes, strict=True):
        if code == 1:  # refused at once, nothing touched: running it again merges it
            again = subprocess.run(
                [sys.executable, "-c", _CLI.format(module="merge_nodes"), *map(str, run)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert again.returncode == 0, again.stderr
    report = inspect_node(t.root)
    assert not {w.code for w in report.warnings} & _BAD
    assert sorted(i.file for i in report.identities) == _MERGED


@pytest.mark.parametrize("offset", OFFSETS[:3])
def test_with_wait_the_second_merge_waits_and_both_complete(
    pristine: Path, tmp_path: Path, spawn, offset: float
) -> None:
    a, b, t = _nodes(pristine, tmp_path)
    runs = [["-f", a.root, "-t", t.root, "--wait"], ["-f", b.root, "-t", t.root, "--wait"]]
    outcomes = _pair(spawn, offset, runs[0], runs[1], "merge_nodes")
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    report = inspect_node(t.root)
    assert not {w.code for w in report.warnings} & _BAD
    assert sorted(i.file for i in report.identities) == _MERGED


@pytest.mark.parametrize("offset", OFFSETS)
def test_two_add_identity_runs_never_install_one_identity_twice(
    pristine: Path, tmp_path: Path, spawn, offset: float
) -> None:
    _, node, _ = _nodes(pristine, tmp_path)  # 120 keys: planning reads them all
    post = post_dir(tmp_path / "post", test_key(f"race-new-{offset}"))
    args = ["add-identity", "--post-dir", post, "--to", node.root]
    outcomes = _pair(spawn, offset, [*args, "--name", "x"], [*args, "--name", "y"], "main")

    assert sorted(code for code, _ in outcomes) == [0, 1], outcomes
    refused = next(err for code, err in outcomes if code == 1)
    assert "is locked by process" in refused or "is already installed as" in refused
    added = {p.name for p in node.identities_dir.glob("*.key")} & {"x.key", "y.key"}
    assert len(added) == 1
    assert "duplicate_identity" not in _codes(node.root)
