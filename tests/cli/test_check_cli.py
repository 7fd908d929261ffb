"""``mergetool check``: exact output, exit codes and the ``--json`` shape; nothing written."""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.check.address import encode_address
from mergetool.cli.main import cli
from mergetool.node.fixtures import FixtureNode
from tests.schema_check import loads_valid

Factory = Callable[..., FixtureNode]
Digest = Callable[[Path], dict[str, str]]
COINBASE = encode_address(bytes(24))
CONFIG = {
    "api": {"grpc-post-listener": "127.0.0.1:9094"},
    "smeshing": {"smeshing-start": False, "smeshing-coinbase": COINBASE},
}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _commitment(node: FixtureNode, node_hex: str) -> str:
    # closing(): sqlite3's own `with` only commits; a connection left to the garbage collector
    # removes local.sql-wal/-shm whenever it runs, e.g. while a test compares the tree.
    with closing(sqlite3.connect(node.folder.db_path)) as conn:
        (atx,) = conn.execute(
            "SELECT commit_atx FROM post WHERE id = ?", (bytes.fromhex(node_hex),)
        )
    return bytes(atx[0]).hex()


@pytest.fixture
def ready(node_factory: Factory, tmp_path: Path) -> tuple[FixtureNode, Path, list[Path]]:
    """A node with one identity, its data from `post init --preset test`, a good config."""
    node = node_factory(identities=("id-1",))
    node_hex = node.identities["id-1.key"]
    data = tmp_path / "post-1"
    result = CliRunner().invoke(
        cli,
        ["post", "init", "--dir", str(data), "--node-id", node_hex, "--commitment-atx",
         _commitment(node, node_hex), "--num-units", "1", "--max-file-size", "1024",
         "--preset", "test", "--backend", "numpy", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    return node, config, [data]


def test_a_good_setup_exits_0(
    ready: tuple[FixtureNode, Path, list[Path]], tree_digest: Digest, tmp_path: Path
) -> None:
    node, config, dirs = ready
    # A connection the set-up left to the garbage collector would remove local.sql-wal/-shm
    # whenever it runs; close it now, so the snapshot shows only what `check` might change.
    gc.collect()
    before = tree_digest(tmp_path)
    code, out, err = _run(
        node.folder.root, "--config", config, "--dir", dirs[0], "--preset", "test"
    )
    assert (code, err) == (0, "")
    assert (
        out
        == f"Checked {node.folder.root} (preset test)\n0 errors, 0 warnings, 0 notes: no errors.\n"
    )
    assert tree_digest(tmp_path) == before


def test_an_error_exits_1_and_lists_errors_first(
    ready: tuple[FixtureNode, Path, list[Path]],
) -> None:
    node, config, dirs = ready
    config.write_text(json.dumps({**CONFIG, "smeshing": {"smeshing-start": True}}))
    code, out, err = _run(node.folder.root, "--config", config, "--preset", "test")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[1].startswith(f"ERROR   [smeshing_start] {config}: smeshing.smeshing-start")
    assert lines[2].startswith(f"ERROR   [coinbase_missing] {config}: ")
    assert (
        lines[3]
        == "NOTE    [post_dirs_not_checked] no --dir given: the PoST data folders were not checked"
    )
    assert lines[-1] == "2 errors, 0 warnings, 1 note: fix the errors before smeshing."


def test_json_lists_findings(ready: tuple[FixtureNode, Path, list[Path]]) -> None:
    node, config, dirs = ready
    config.write_text('{"api": {"grpc-post-listener": ":0"},\n "smeshing": 1}')
    code, out, err = _run(node.folder.root, "--config", config, "--dir", dirs[0], "--json")
    assert (code, err) == (1, "")
    doc = loads_valid(out, "check")
    assert doc["ok"] is False and doc["preset"] == "mainnet"
    assert doc["post_dirs"] == [str(dirs[0])] and doc["config"] == str(config)
    assert doc["counts"] == {"error": 3, "warning": 0, "note": 0}
    assert doc["findings"][0] == {
        "code": "config_shape",
        "level": "error",
        "message": f'{config}: line 2 column 14: "smeshing" must be an object, got a number',
        "path": str(config),
    }
    # On mainnet the tiny test data is out of range and of the wrong layout.
    assert [f["code"] for f in doc["findings"][1:]] == [
        "num_units_out_of_range",
        "labels_per_unit_mismatch",
    ]
    assert all(set(f) == {"code", "level", "message", "path"} for f in doc["findings"])


def test_against_a_node_sharing_an_identity(
    ready: tuple[FixtureNode, Path, list[Path]], node_factory: Factory, tmp_path: Path
) -> None:
    node, config, dirs = ready
    other = node_factory("other", identities=("id-1",))
    report = tmp_path / "other.json"
    result = CliRunner().invoke(cli, ["inspect", "--json", str(other.folder.root)])
    report.write_text(result.stdout)
    code, out, err = _run(node.folder.root, "--against", report, "--preset", "test")
    assert code == 1
    assert f"ERROR   [equivocation] identity {node.identities['id-1.key']} is on two nodes: " in out
    assert (
        f"{node.folder.root}/identities/id-1.key and {other.folder.root}/identities/id-1.key" in out
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "devnet"], "Invalid value for '--preset'"),
        (["--config", "/nonexistent.json"], "Invalid value for '--config'"),
        (["--against", "/nonexistent.json"], "Invalid value for '--against'"),
    ],
)
def test_bad_option_values_exit_2(node_factory: Factory, args: list[str], message: str) -> None:
    node = node_factory()
    code, out, err = _run(node.folder.root, *args)
    assert code == 2 and message in err


def test_not_a_node_folder_is_a_clear_error(tmp_path: Path) -> None:
    code, out, err = _run(tmp_path / "nowhere")
    assert (code, out) == (1, "")
    assert err == f"Error: {tmp_path / 'nowhere'}: node data folder does not exist\n"
