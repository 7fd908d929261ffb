"""``mergetool post prove`` as an operator meets it: signals, parameters, k2pow progress."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.cli.progress import Bars
from mergetool.post.metadata import PostMetadata, write_metadata
from mergetool.post.params import PRESETS
from mergetool.post.pow import PowProgress
from mergetool.post.prove import ProveReporter, generate_proof
from mergetool.serve.post_rs import OperatorServer

CHALLENGE = "ab" * 32
TEST = PRESETS["test"]


def _random_data(directory: Path, num_units: int) -> PostMetadata:
    """Test-preset-sized metadata over random labels: enough to scan, never a valid proof."""
    meta = PostMetadata(
        node_id=bytes(31) + b"\x07", commitment_atx_id=b"\x11" * 32,
        labels_per_unit=TEST.labels_per_unit, num_units=num_units, max_file_size=1 << 32,
    )  # fmt: skip
    directory.mkdir()
    write_metadata(directory, meta.with_progress(0, meta.num_labels))
    (directory / "postdata_0.bin").write_bytes(os.urandom(meta.num_labels * 16))
    return meta


def _children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_sigterm_or_kill_9_ends_every_worker_process(tmp_path: Path, sig: int) -> None:
    meta = _random_data(tmp_path / "pd", num_units=512)  # 2 chunks of labels: 2 workers
    # k2 = every label and a hard k2pow: the run goes on until it is stopped.
    args = ["post", "prove", "--dir", str(tmp_path / "pd"), "--challenge", CHALLENGE,
            "--preset", "test", "--threads", "2", "--k1", "1", "--k2", str(meta.num_labels),
            "--pow-difficulty", "0000ff" + "ff" * 29, "--json"]  # fmt: skip
    code = "import sys; from mergetool.cli.main import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len(seen) < 3 and time.monotonic() < deadline:  # 2 workers + resource tracker
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            seen |= _children(proc.pid)
            time.sleep(0.1)
        assert len(seen) >= 3, f"the workers did not start: {seen}"
        proc.send_signal(sig)
        # SIGTERM goes through the `with` blocks; after kill -9 the workers notice by themselves
        assert proc.wait(timeout=30) == (128 + sig if sig == signal.SIGTERM else -sig)
        deadline = time.monotonic() + (10 if sig == signal.SIGTERM else 5)
        while any(_alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in seen if _alive(p)], f"worker processes survived signal {sig}"
    finally:
        for pid in [proc.pid, *seen]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_prove_refuses_parameters_that_do_not_fit_the_data(tmp_path: Path) -> None:
    _random_data(tmp_path / "pd", num_units=1)
    args = ["post", "prove", "--dir", str(tmp_path / "pd"), "--challenge", CHALLENGE]
    result = CliRunner().invoke(cli, args)  # no --preset: mainnet
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: the data has 256 labels per unit, the parameters 4294967296\n"
        "Pass --preset test if the data was made with its parameters.\n"
    )


class _PowReports(ProveReporter):
    def __init__(self, reports: list[PowProgress]) -> None:
        self.reports = reports

    def k2pow(self, progress: PowProgress) -> None:
        self.reports.append(progress)


def test_k2pow_reports_groups_and_hashes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _random_data(tmp_path / "pd", num_units=1)
    reports: list[PowProgress] = []
    caplog.set_level(logging.INFO, logger="mergetool.post")
    with pytest.raises(Exception, match="no proof found"):  # k2 = every label: none wins
        generate_proof(
            tmp_path / "pd", bytes.fromhex(CHALLENGE), k1=1, k2=256,
            pow_difficulty=TEST.pow_difficulty, nonces=64, start_nonce=16 * 252,
            reporter=_PowReports(reports),
        )  # fmt: skip
    # Groups 252 .. 255 in one pass; any hash meets the test preset's k2pow: one per group.
    assert [(r.groups_done, r.groups_total, r.hashes) for r in reports[:1] + reports[-1:]] == [
        (0, 4, 0),
        (4, 4, 4),
    ]
    assert [r.groups_done for r in reports] == sorted(r.groups_done for r in reports)
    assert reports[-1].hashes_per_s > 0
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("k2pow")]
    assert logged[0].startswith("k2pow: group 252 done (1 of 4), 1 hashes in ")
    assert logged[-1].startswith("k2pow: group 255 done (4 of 4), 4 hashes in ")


def test_k2pow_progress_on_the_status_api_and_the_bar() -> None:
    progress = PowProgress(groups_done=3, groups_total=8, hashes=1200, seconds=2.0)
    with OperatorServer("127.0.0.1:0") as server:
        server.set_proving(0, 128, 0, k2pow=progress.to_dict())
        host, port = server.address
        with urllib.request.urlopen(f"http://{host}:{port}/status", timeout=5) as response:
            status = json.load(response)
    assert status == {
        "Proving": {
            "nonces": {"start": 0, "end": 128},
            "position": 0,
            "k2pow": {"groups_done": 3, "groups_total": 8, "hashes": 1200, "hashes_per_s": 600.0},
        }
    }
    out = io.StringIO()
    bars = Bars(out)
    bars("k2pow (groups)", 3, 8)
    bars.note("k2pow (groups)", f"{progress.hashes_per_s:,.0f} hashes/s")
    assert "3/8" in out.getvalue() and "600 hashes/s" in out.getvalue()


def test_the_first_frame_shows_no_rate() -> None:
    """The first report comes after a whole batch: its rate would be batch / ~0 s."""
    out = io.StringIO()
    bars = Bars(out)
    bars("labels", 5000, 10000)
    assert out.getvalue().rstrip().endswith("5000/10000 [00:00<?, ?/s]")


def test_a_self_check_failing_on_every_label_blames_scrypt_n(tmp_path: Path) -> None:
    data = str(tmp_path / "pd")
    init = ["post", "init", "--dir", data, "--node-id", "00" * 31 + "07", "--commitment-atx",
            "11" * 32, "--num-units", "2", "--max-file-size", "1024", "--preset", "test",
            "--backend", "numpy", "--json"]  # fmt: skip
    assert CliRunner().invoke(cli, init).exit_code == 0
    args = ["post", "prove", "--dir", data, "--challenge", CHALLENGE, "--preset", "test"]
    result = CliRunner().invoke(cli, [*args, "--scrypt-n", "4"])  # the data has N = 2
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the proof failed its own verification (invalid proof: label does not meet "
        "the difficulty (msb) (index 2))\n"
        "Every one of the proof's 8 labels fails: the data was most likely made with another "
        "scrypt N. Check --scrypt-n (or --preset).\n"
    )


@pytest.mark.parametrize("source", ["stdin", "file"])
def test_verify_reads_at_most_one_mib_of_proof(tmp_path: Path, source: str) -> None:
    args = ["post", "verify", "--node-id", "07" * 32, "--commitment-atx", "11" * 32,
            "--challenge", CHALLENGE, "--num-units", "1", "--preset", "test"]  # fmt: skip
    if source == "stdin":
        result = CliRunner().invoke(cli, [*args, "--proof", "-"], input=b"0" * (2 << 20))
        where = "standard input"
    else:
        big = tmp_path / "proof.json"
        with open(big, "wb") as fh:
            fh.truncate(1 << 30)  # sparse: 1 GiB that would take 1 GiB to read whole
        result = CliRunner().invoke(cli, [*args, "--proof", str(big)])
        where = str(big)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: invalid proof: malformed proof: more than 1048576 bytes; a proof is a few "
        f"hundred (in {where})\n"
    )


def test_init_refuses_data_larger_than_the_free_space(tmp_path: Path) -> None:
    target = tmp_path / "pd"
    args = ["post", "init", "--dir", str(target), "--commitment-atx", "11" * 32, "--num-units",
            "4", "--labels-per-unit", str(1 << 40), "--preset", "test"]  # fmt: skip
    result = CliRunner().invoke(cli, args)  # 4 x 2^40 labels x 16 bytes: 64 TiB
    assert result.exit_code == 1
    free = re.escape("has ") + r"\d+ bytes \(\d+\.\d GiB\) free"  # others write too
    assert re.fullmatch(
        re.escape(f"Error: {target}: {64 << 40} bytes (65536.0 GiB) still to write, but its file "
                  "system ") + free + re.escape(
            "\nFree some space or use fewer units; --no-space-check starts anyway.\n"),
        result.stderr,
    ), result.stderr  # fmt: skip
    assert not target.exists()  # not even identity.key


def test_a_new_identity_points_to_add_identity(tmp_path: Path) -> None:
    target = tmp_path / "my data"
    args = ["post", "init", "--dir", str(target), "--commitment-atx", "11" * 32, "--num-units",
            "1", "--preset", "test", "--backend", "numpy", "--no-space-check"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == [
        f"  identity: {target / 'identity.key'}",
        f"  To run it on a node: mergetool add-identity --post-dir '{target}' --to NODE_DATA",
    ]
