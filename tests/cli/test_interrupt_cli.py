"""A merge stopped by SIGTERM or Ctrl-C says what it left and that re-running finishes it."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.merge_nodes import merge_cmd
from mergetool.node.fixtures import build_node
from mergetool.node.folder import JOURNAL_NAME
from mergetool.node.inspect import inspect_node

_CLI = "import sys; from mergetool.cli.merge_nodes import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interrupt")
    build_node(root / "src", identities=[f"s{i}" for i in range(200)], prefix="int-s-")
    build_node(root / "dst", identities=["d1"], prefix="int-d-")
    return root


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_merge_says_to_run_it_again(
    pristine: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    shutil.copytree(pristine / "src", src)
    shutil.copytree(pristine / "dst", dst)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, "-f", str(src), "-t", str(dst)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (dst / JOURNAL_NAME).exists() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        if proc.poll() is not None:
            pytest.skip("the merge finished before it could be stopped")
        proc.send_signal(sig)  # while it stages keys (200 of them, each fsynced)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()

    if proc.returncode == 0:
        pytest.skip("the merge finished before the signal arrived")
    assert proc.returncode == code, err
    assert err.endswith(
        f"Interrupted: the merge into {dst} may be unfinished (a journal, staged keys or a "
        "backup may be left there). Run the same command again: it finishes or undoes it.\n"
    )
    again = CliRunner().invoke(merge_cmd, ["-f", str(src), "-t", str(dst)])
    assert again.exit_code == 0, again.output
    assert "interrupted merge found" in again.stdout and "key(s) staged)" in again.stdout
    report = inspect_node(dst)
    assert len(report.identities) == 201
    assert not {w.code for w in report.warnings} & {"rows_without_key", "key_without_rows"}
