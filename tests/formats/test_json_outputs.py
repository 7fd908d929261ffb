"""One real document per JSON Schema in ``schemas/json/``, produced by the code that writes
it and checked against its schema (the other tests check every document they parse, too)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool.cli.main import cli
from mergetool.merge.journal import Journal, StagedKey
from mergetool.node.fixtures import FixtureNode, test_key
from mergetool.post.backends import opencl
from mergetool.post.proof import Proof
from mergetool.serve.config import IdentityConfig
from mergetool.serve.events import Event
from mergetool.serve.identity import Identity
from mergetool.serve.operator_api import view
from mergetool.serve.state import Finished, IdentityState, Progress
from mergetool.serve.store import ProofStore
from tests.postdata_helpers import post_folder as post_dir
from tests.schema_check import assert_valid, loads_valid

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NODE = "11" * 32
ATX = "22" * 32
CHALLENGE = "33" * 32


def run(*args: object, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def test_inspect() -> None:
    doc = loads_valid(run("inspect", FIXTURES / "node-a", "--json").stdout, "inspect")
    assert doc["format"] == 1 and len(doc["identities"]) == 2


def test_merge_plan_result_and_refusal(node_factory: Callable[..., FixtureNode], tmp_path: Path):
    src = node_factory("src", identities=["s1"], prefix="fmt-s-")
    dst = node_factory("dst", identities=["d1"], prefix="fmt-d-")
    flags = ["merge", "-f", src.folder.root, "-t", dst.folder.root]
    plan = loads_valid(run(*flags, "--dry-run", "--json").stdout, "merge-report")
    assert (plan["status"], plan["dry_run"]) == ("ready", True)
    report = tmp_path / "report.json"
    result = loads_valid(run(*flags, "--json", "--report", report).stdout, "merge-report")
    assert result["status"] == "merged" and result["result"]["rows_copied"] > 0
    assert loads_valid(report.read_text(), "merge-report") == result
    clash = node_factory("clash", identities=["d1"], prefix="fmt-c-")  # d1.key again
    run("merge", "-f", clash.folder.root, "-t", dst.folder.root, "--report", report, code=1)
    refusal = loads_valid(report.read_text(), "merge-report")
    assert (refusal["status"], refusal["error"]) == ("refused", "NameCollision")


def test_merge_journal(tmp_path: Path) -> None:
    node_id = test_key("fmt-j").node_id_hex
    journal = Journal(
        tmp_path / "journal.json", "/data/src", (node_id,), 12, (StagedKey("a.key", node_id),),
        retire_folder="merged-20260101T000000Z", retire=(("a.key", node_id),),
    )  # fmt: skip
    journal.write()
    assert loads_valid(journal.path.read_text(), "merge-journal")["expected_rows"] == 12
    replace(journal, retire=()).write()  # (no retire: the field is left out)
    assert "retire" not in loads_valid(journal.path.read_text(), "merge-journal")


def test_restore_plan_and_result(node_factory: Callable[..., FixtureNode]) -> None:
    src = node_factory("src", identities=["s1"], prefix="fmt-rs-")
    dst = node_factory("dst", identities=["d1"], prefix="fmt-rd-")
    run("merge", "-f", src.folder.root, "-t", dst.folder.root)
    plan = loads_valid(run("restore", dst.folder.root, "--dry-run", "--json").stdout, "restore")
    assert plan["dry_run"] is True and plan["keys_set_aside"] == ["s1.key"]
    done = loads_valid(run("restore", dst.folder.root, "--json").stdout, "restore")
    assert done["keys_restored"] == ["d1.key"] and "dry_run" not in done


def test_add_identity(node_factory: Callable[..., FixtureNode], tmp_path: Path) -> None:
    node = node_factory("node", identities=["n1"], prefix="fmt-a-")
    post = post_dir(tmp_path / "post", test_key("fmt-a-new"))
    out = run("add-identity", "--post-dir", post, "--to", node.folder.root, "--json").stdout
    assert loads_valid(out, "add-identity")["installed"] is True


def test_check(node_factory: Callable[..., FixtureNode]) -> None:
    node = node_factory("node", identities=["n1"], prefix="fmt-k-")
    doc = loads_valid(run("check", node.folder.root, "--json").stdout, "check")
    assert doc["ok"] is True


def test_status_of_a_node_that_does_not_answer() -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    doc = loads_valid(
        run("status", "--node", f"127.0.0.1:{port}", "--json", code=1).stdout, "status"
    )
    assert doc["safe_to_stop"] is False and len(doc["errors"]) == 1


def test_error(tmp_path: Path) -> None:
    doc = loads_valid(run("inspect", tmp_path / "missing", "--json", code=1).stdout, "error")
    assert doc["message"].startswith(str(tmp_path / "missing"))


@pytest.fixture(scope="module")
def post_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fmt") / "pd"
    out = run(
        "post", "init", "--dir", directory, "--node-id", NODE, "--commitment-atx", ATX,
        "--num-units", "2", "--max-file-size", "1024", "--preset", "test", "--backend", "numpy",
        "--json",
    ).stdout  # fmt: skip
    assert loads_valid(out, "post-init")["files_written"] == 8
    return directory


def test_post_metadata(post_data: Path) -> None:
    meta = loads_valid((post_data / "postdata_metadata.json").read_text(), "post-metadata")
    assert meta["NumUnits"] == 2


def test_post_prove_and_verify(post_data: Path) -> None:
    out = run(
        "post", "prove", "--dir", post_data, "--challenge", CHALLENGE, "--preset", "test", "--json"
    ).stdout
    proof = loads_valid(out, "post-proof")
    result = CliRunner().invoke(
        cli,
        ["post", "verify", "--proof", "-", "--node-id", NODE, "--commitment-atx", ATX,
         "--challenge", CHALLENGE, "--num-units", "2", "--preset", "test", "--json"],
        input=json.dumps(proof),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert loads_valid(result.stdout, "post-verify")["nonce"] == proof["nonce"]


def test_post_verify_data(post_data: Path) -> None:
    out = run(
        "post", "verify-data", "--dir", post_data, "--fraction", "10", "--preset", "test",
        "--backend", "numpy", "--json",
    ).stdout  # fmt: skip
    assert loads_valid(out, "post-verify-data")["ok"] is True


def test_post_profile(tmp_path: Path) -> None:
    out = run(
        "post", "profile", "--data-size", "0.001", "--duration", "0.05",
        "--data-file", tmp_path / "scan.bin", "--json",
    ).stdout  # fmt: skip
    assert loads_valid(out, "post-profile")["passes"] >= 1


def test_post_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    # This machine's devices when pyopencl is installed (none is a valid answer too).
    if not opencl.is_available():
        device = opencl.DeviceInfo("0:0", "Portable Computing Language", "cpu", "CPU", 4 << 30,
                                   1 << 30, 2)  # fmt: skip
        monkeypatch.setattr(opencl, "list_devices", lambda: [device])
    assert "devices" in loads_valid(run("post", "devices", "--json").stdout, "post-devices")


def _identity(tmp_path: Path, state: IdentityState) -> Identity:
    config = IdentityConfig(
        folder=tmp_path / "post", node_id=b"\x01" * 32, commitment_atx_id=b"\x02" * 32,
        num_units=4, labels_per_unit=256, vrf_nonce=7, state_dir=tmp_path / "state", device=1,
        name="post-1",
    )  # fmt: skip
    return Identity(config, state, ProofStore(config), connected=True)


def test_serve_identities_and_proof_file(tmp_path: Path) -> None:
    finished = Finished(b"\x03" * 32, Proof(5, b"\x01\x02", 9), 1_700_000_000.0, 12.5)
    idle = IdentityState(clock=lambda: 1_700_000_000.0)
    proving = IdentityState(clock=lambda: 1_700_000_000.0)
    proving.on_request(b"\x04" * 32)
    proving.on_progress(b"\x04" * 32, Progress("reading", bytes_read=10, bytes_total=40))
    done = IdentityState(clock=lambda: 1_700_000_000.0)
    done.on_stored_proof(finished, delivered=False)
    identities = [_identity(tmp_path, s) for s in (idle, proving, done)]
    status, doc = view(identities, "/identities")
    assert status == 200
    assert [i["state"] for i in assert_valid(doc, "serve-identities")["identities"]] == [
        "idle", "proving", "done"
    ]  # fmt: skip
    store = identities[2].store
    store.save(finished)
    assert loads_valid(store.path.read_text(), "serve-proof")["delivered"] is False


def test_serve_log_lines() -> None:
    # What `serve --log-format json` prints: one JSON object per event.
    events = [
        Event(1_700_000_000.5, "started", "serving 2 identities"),
        Event(1_700_000_001.0, "proof-ready", "proof ready", node_id=b"\x01" * 32,
              folder=Path("/data/a"), fields={"duration_s": 1.5}),
        Event(1_700_000_002.0, "stopped", "stopped", "warning", fields={"mid_proof": []}),
    ]  # fmt: skip
    for event in events:
        assert loads_valid(json.dumps(event.to_dict()), "serve-event")["event"] == event.kind
