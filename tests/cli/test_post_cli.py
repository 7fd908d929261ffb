"""``mergetool post``: exact messages and exit codes, then the files on disk."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool.cli.main import cli
from tests.schema_check import loads_valid

ATX = "11" * 32
CHALLENGE = "ab" * 32
NODE = "00" * 31 + "07"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["post", *args], input=stdin)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli") / "pd"
    result = run(
        "init", "--dir", str(directory), "--node-id", NODE, "--commitment-atx", ATX,
        "--num-units", "2", "--max-file-size", "1024", "--preset", "test", "--backend", "numpy",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = loads_valid(result.stdout, "post-init")
    assert doc["backend"] == "numpy" and doc["files_written"] == 8 and doc["node_id"] == NODE
    return directory


@pytest.fixture(scope="module")
def proof(data: Path) -> dict[str, object]:
    result = run(
        "prove", "--dir", str(data), "--challenge", CHALLENGE, "--preset", "test", "--json"
    )
    assert result.exit_code == 0, result.output
    return loads_valid(result.stdout, "post-proof")


def verify(proof_text: str, *extra: str) -> Result:
    return run(
        "verify", "--proof", "-", "--node-id", NODE, "--commitment-atx", ATX, "--challenge",
        CHALLENGE, "--num-units", "2", "--preset", "test", *extra, stdin=proof_text,
    )  # fmt: skip


def test_every_command_has_help() -> None:
    for name in ("init", "prove", "verify", "verify-data", "profile"):
        result = run(name, "--help")
        assert result.exit_code == 0 and "Usage: " in result.output
    listing = run("--help").output
    assert "verify-data" in listing and "devices" in listing


def test_init_new_identity(tmp_path: Path) -> None:
    result = run(
        "init", "--dir", str(tmp_path / "new"), "--commitment-atx", ATX, "--num-units", "1",
        "--preset", "test", "--backend", "numpy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    key = tmp_path / "new" / "identity.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text()) == 128
    meta = loads_valid((tmp_path / "new" / "postdata_metadata.json").read_text(), "post-metadata")
    assert meta["NumUnits"] == 1 and meta["LastPosition"] == 256
    assert f"node {key.read_text()[64:]}" in result.output
    assert "backend numpy; wrote 1 file(s), kept 0" in result.output


def test_init_resumes(data: Path) -> None:
    result = run(
        "init", "--dir", str(data), "--node-id", NODE, "--commitment-atx", ATX, "--num-units",
        "2", "--max-file-size", "1024", "--preset", "test", "--backend", "numpy", "--json",
    )  # fmt: skip
    doc = loads_valid(result.stdout, "post-init")
    assert (doc["files_kept"], doc["files_written"], doc["labels_written"]) == (8, 0, 0)


def test_init_refuses_other_parameters(data: Path) -> None:
    result = run(
        "init", "--dir", str(data), "--node-id", NODE, "--commitment-atx", ATX, "--num-units",
        "3", "--max-file-size", "1024", "--preset", "test",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {data}/postdata_metadata.json describes different PoST data: "
        "num units 2 (asked: 3)\n"
    )


def test_prove_refuses_more_nonces_than_groups_allow(data: Path) -> None:
    result = run("prove", "--dir", str(data), "--challenge", CHALLENGE, "--preset", "test",
                 "--nonces", "8192")  # fmt: skip
    assert result.exit_code == 2 and "nonces must be at most 4096" in result.stderr


def test_init_units_below_mainnet_minimum(tmp_path: Path) -> None:
    result = run("init", "--dir", str(tmp_path), "--commitment-atx", ATX, "--num-units", "1")
    assert result.exit_code == 2  # a bad argument value, like click's own usage errors
    assert result.stderr == "Error: num_units 1 is outside [4, 4294967295]\n"


def test_bad_hex_is_a_usage_error(tmp_path: Path) -> None:
    result = run("init", "--dir", str(tmp_path), "--commitment-atx", "zz", "--num-units", "1")
    assert result.exit_code == 2 and "'zz' is not hex" in result.stderr


def test_prove_output_and_verify(proof: dict[str, object]) -> None:
    assert set(proof) == {"nonce", "indices", "pow"}
    result = verify(json.dumps(proof))
    assert (result.exit_code, result.stdout) == (0, "Proof is valid.\n")
    result = verify(json.dumps(proof), "--mode", "all", "--json", "--backend", "numpy")
    assert loads_valid(result.stdout, "post-verify") == {
        "format": 1,
        "valid": True,
        "nonce": proof["nonce"],
        "backend": "numpy",
    }
    result = verify(json.dumps(proof), "--mode", "all", "--json", "--backend", "auto")
    assert loads_valid(result.stdout, "post-verify")["backend"] in ("numpy", "opencl")


def test_verify_reads_the_data_from_its_metadata(data: Path, proof: dict[str, object]) -> None:
    args = ["verify", "--proof", "-", "--dir", str(data), "--challenge", CHALLENGE]
    result = run(*args, "--preset", "test", stdin=json.dumps(proof))
    assert (result.exit_code, result.stdout) == (0, "Proof is valid.\n")
    agreeing = run(*args, "--preset", "test", "--num-units", "2", "--node-id", NODE,
                   stdin=json.dumps(proof))  # fmt: skip
    assert agreeing.exit_code == 0, agreeing.output

    wrong = run(*args, "--preset", "test", "--num-units", "3", stdin=json.dumps(proof))
    assert wrong.exit_code == 2
    assert wrong.stderr == (
        f"Error: --num-units 3 differs from {data / 'postdata_metadata.json'} (NumUnits 2)\n"
        "Leave the flag out to use the data's own value, or give the right --dir.\n"
    )
    other = "ab" * 32
    wrong = run(*args, "--preset", "test", "--commitment-atx", other, stdin=json.dumps(proof))
    assert wrong.stderr.startswith(
        f"Error: --commitment-atx {other} differs from {data / 'postdata_metadata.json'} "
        f"(CommitmentAtxId {ATX})\n"
    )


def test_verify_without_dir_needs_the_three_values(proof: dict[str, object]) -> None:
    result = run("verify", "--proof", "-", "--challenge", CHALLENGE, "--node-id", NODE,
                 "--preset", "test", stdin=json.dumps(proof))  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: missing --commitment-atx, --num-units: give the prover's PoST data folder with "
        "--dir, or --node-id, --commitment-atx and --num-units\n"
    )


def test_prove_with_two_threads_verifies_the_same(data: Path, proof: dict[str, object]) -> None:
    result = run(
        "prove", "--dir", str(data), "--challenge", CHALLENGE, "--preset", "test", "--threads", "2"
    )
    assert result.exit_code == 0 and loads_valid(result.stdout, "post-proof") == proof


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"pow": 2**60},
            "Error: invalid proof: invalid pow: pow 1152921504606846976 does not meet the target",
        ),
        (
            {"indices": "AAAA"},
            "Error: invalid proof: invalid indices length: expected 10 bytes, got 3\n",
        ),
        (
            {"nonce": 99999},
            "Error: invalid proof: invalid pow: nonce 99999 is in group 6249 > 255\n",
        ),
        (
            {"indices": "@@"},
            "Error: invalid proof: malformed proof: indices are not valid base64"
            " (in standard input)\n",
        ),
    ],
)
def test_verify_rejects(proof: dict[str, object], change: dict, message: str) -> None:
    result = verify(json.dumps({**proof, **change}))
    assert result.exit_code == 1
    assert result.stderr.startswith(message)


def test_verify_rejects_a_moved_index_with_its_reason(proof: dict[str, object]) -> None:
    import base64

    raw = bytearray(base64.b64decode(proof["indices"]))  # type: ignore[arg-type]
    for flip in range(256):
        raw[0] = flip
        result = verify(
            json.dumps({**proof, "indices": base64.b64encode(raw).decode()}), "--mode", "all"
        )
        if result.exit_code:
            break
    assert result.exit_code == 1
    assert "Error: invalid proof: label does not meet the difficulty (" in result.stderr
    assert "(index " in result.stderr


@pytest.mark.parametrize(
    "text", ["", "not json", "[1]", '{"nonce": true, "indices": "", "pow": 0}']
)
def test_verify_malformed_json_no_traceback(text: str) -> None:
    result = verify(text)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid proof: malformed proof: ")
    assert "Traceback" not in result.output


def test_verify_json_error(proof: dict[str, object]) -> None:
    result = verify(json.dumps({**proof, "indices": "AAAA"}), "--json")
    doc = loads_valid(result.stdout, "error")
    assert doc["error"] == "InvalidProof" and doc["reason"] == "invalid indices length"


def test_verify_units_limits(proof: dict[str, object]) -> None:
    result = verify(json.dumps(proof), "--min-units", "3")
    assert result.exit_code == 1
    assert result.stderr == "Error: invalid proof: num_units out of range: 2 not in [3, 1024]\n"


def test_verify_data_ok_and_bad(data: Path, tmp_path: Path) -> None:
    result = run("verify-data", "--dir", str(data), "--fraction", "100", "--preset", "test")
    assert (result.exit_code, result.stdout) == (0, "OK: 512 sampled labels in 8 file(s) match.\n")
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    blob = bytearray((copy / "postdata_2.bin").read_bytes())
    blob[33] ^= 1
    blob[1000] ^= 1
    (copy / "postdata_2.bin").write_bytes(bytes(blob))
    result = run("verify-data", "--dir", str(copy), "--fraction", "100", "--preset", "test")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: 2 of 512 sampled labels are wrong "
        "(postdata_2.bin: 2 bad, first at byte offsets 32, 992)"
    )
    result = run(
        "verify-data",
        "--dir",
        str(copy),
        "--fraction",
        "100",
        "--preset",
        "test",
        "--json",
        "--from-file",
        "2",
        "--to-file",
        "2",
    )
    doc = loads_valid(result.stdout, "error")
    assert result.exit_code == 1 and doc["report"]["bad"] == 2 and doc["report"]["checked"] == 64


def test_prove_refuses_corrupt_data(data: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "garbage"
    shutil.copytree(data, copy)
    for path in copy.glob("postdata_*.bin"):
        path.write_bytes(bytes((i * 7 + 3) % 256 for i in range(path.stat().st_size)))
    result = run("prove", "--dir", str(copy), "--challenge", CHALLENGE, "--preset", "test")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the proof failed its own verification (invalid proof: ")


def test_prove_serves_operator_status(data: Path) -> None:
    result = run(
        "prove", "--dir", str(data), "--challenge", CHALLENGE, "--preset", "test",
        "--operator-address", "127.0.0.1:0", "--json",
    )  # fmt: skip
    assert result.exit_code == 0 and "nonce" in loads_valid(result.stdout, "post-proof")


def test_profile_json(tmp_path: Path) -> None:
    result = run(
        "profile", "--data-size", str(1 / 1024), "--duration", "0.05", "--nonces", "16",
        "--data-file", str(tmp_path / "f.bin"), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = loads_valid(result.stdout, "post-profile")
    assert doc["speed_gib_s"] > 0 and doc["time_s"] > 0 and result.stderr == ""


def test_profile_summary_answers_does_it_fit_the_cycle_gap(tmp_path: Path) -> None:
    result = run(
        "profile", "--data-size", str(1 / 1024), "--duration", "0.02", "--nonces", "32",
        "--threads", "2", "--read-speed", "1e-9", "--cycle-gap", "6",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        r"Scan speed: \d+\.\d{3} GiB/s \(32 nonces, 2 threads; \d+ pass(es)? in \d+\.\d s, "
        r"cached pages (dropped|kept)\)",
        lines[0],
    ), lines[0]
    # 1e-9 GiB/s: the disk sets the pace, 64 GiB take 64e9 s per pass, nothing fits 6 h
    assert lines[1:] == [
        "Disk read speed: 0.000 GiB/s (--read-speed)",
        "One pass: 1066666666.7 min per space unit (64 GiB), bound by the disk",
        "Fits a 6 h cycle gap: 0 space units in one pass (k2pow and the node's fetch not included)",
    ]


def test_profile_measures_the_disk_of_a_data_folder(tmp_path: Path) -> None:
    (tmp_path / "postdata_0.bin").write_bytes(bytes(1 << 20))
    result = run(
        "profile", "--data-size", str(1 / 1024), "--duration", "0.01", "--nonces", "16",
        "--dir", str(tmp_path), "--preset", "test", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["read_speed_source"] == "measured" and doc["read_speed_gib_s"] > 0
    assert doc["unit_gib"] == 256 * 16 / (1 << 30) and doc["cycle_gap_s"] == 43200
    assert doc["nonces"] == 16 and doc["threads"] == 1
    assert doc["units_in_cycle_gap"] == pytest.approx(43200 / doc["pass_s_per_unit"], rel=1e-3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--nonces", "20"], "Error: nonces must be a positive multiple of 16, got 20\n"),
        (["--cycle-gap", "inf"], "Error: --cycle-gap must be a finite number, got inf\n"),
        (
            ["--read-speed", "1", "--dir", "."],
            "Error: give --dir (to measure the disk) or --read-speed, not both\n",
        ),
    ],
)
def test_profile_refuses_bad_values_before_any_work(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    data = tmp_path / "never.bin"
    result = run("profile", "--data-size", "0.001", "--data-file", str(data), *extra)
    assert result.exit_code == 2, result.output
    assert result.stderr == message  # (not even the note about cached pages)
    assert not data.exists()


def test_profile_refuses_a_folder_without_data_before_any_work(tmp_path: Path) -> None:
    data = tmp_path / "never.bin"
    result = run("profile", "--data-file", str(data), "--dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        f"Error: {tmp_path}: no PoST data files (postdata_0.bin …) to measure the disk with\n"
    )
    assert not data.exists()


def test_profile_says_it_drops_the_cache(tmp_path: Path) -> None:
    result = run("profile", "--data-size", str(1 / 1024), "--duration", "0.01", "--nonces", "16")
    assert result.exit_code == 0
    assert "posix_fadvise DONTNEED" in result.stderr or "Cannot drop cached pages" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--min-units", "5", "--max-units", "1"], "--min-units 5 is above --max-units 1"),
        (["--scrypt-n", "3"], "scrypt N must be a power of two"),
        (["--k3", "9"], "--k3 9 is above --k2 8"),
        (["--pow-difficulty", "00" * 32], "--pow-difficulty is zero"),
        (["--mode", "one", "--index", "8"], "index position 8 is outside 0 .. 7"),
        (["--mode", "one"], "--mode one needs --index"),
        (["--index", "3"], "--index goes with --mode one"),
    ],
)
def test_verify_bad_arguments_exit_2_not_invalid(
    proof: dict[str, object], extra: list[str], message: str
) -> None:
    result = verify(json.dumps(proof), *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_verify_non_utf8_proof_file_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "proof.json"
    path.write_bytes(bytes(range(128, 256)))
    result = run(
        "verify", "--proof", str(path), "--node-id", NODE, "--commitment-atx", ATX, "--challenge",
        CHALLENGE, "--num-units", "2", "--preset", "test", "--json",
    )  # fmt: skip
    assert result.exit_code == 1
    assert loads_valid(result.stdout, "error")["reason"] == "malformed proof"
    assert f"not JSON (not UTF-8 text) (in {path})" in result.stderr


def test_verify_with_stdin_closed_is_a_clear_error() -> None:
    import subprocess
    import sys

    args = [
        "post", "verify", "--proof", "-", "--node-id", NODE, "--commitment-atx", ATX,
        "--challenge", CHALLENGE, "--num-units", "2", "--preset", "test",
    ]  # fmt: skip
    start = "from mergetool.cli.main import main; sys.argv = ['mergetool', *sys.argv[1:]]; main()"
    empty = subprocess.run(
        [sys.executable, "-c", f"import sys; {start}", *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
    )  # fmt: skip
    assert empty.returncode == 1, empty.stderr
    assert empty.stderr.startswith("Error: invalid proof: malformed proof: not JSON")
    closed = subprocess.run(
        [sys.executable, "-c", f"import os, sys; os.close(0); sys.stdin = None; {start}", *args],
        capture_output=True, text=True,
    )  # fmt: skip
    assert closed.returncode == 2 and "Traceback" not in closed.stderr
    assert "--proof -: standard input is closed" in closed.stderr


def test_prove_refuses_k2_above_the_label_count_at_once(data: Path) -> None:
    result = run(
        "prove", "--dir", str(data), "--challenge", CHALLENGE, "--preset", "test", "--k2", "600"
    )
    assert result.exit_code == 2
    assert "k2 = 600 is more than the 512 labels of the data" in result.stderr


# --- init refusals: exit code, the path named, nothing written --------------------------------

TINY = ("--commitment-atx", ATX, "--num-units", "2", "--preset", "test", "--max-file-size", "4096")


def tree(directory: Path) -> dict[str, bytes | None]:
    """Every entry under ``directory`` with its bytes (None for anything not a regular file)."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): p.read_bytes()
        if p.is_file() and not p.is_symlink()
        else None
        for p in sorted(directory.rglob("*"))
    }


def test_init_refuses_data_files_without_metadata(tmp_path: Path) -> None:
    (tmp_path / "postdata_0.bin").write_bytes(b"\x01" * 4096)
    (tmp_path / "postdata_1.bin").write_bytes(b"\x02" * 4096)
    before = tree(tmp_path)
    result = run("init", "--dir", str(tmp_path), "--node-id", NODE, *TINY, "--backend", "numpy")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path} holds PoST data files but no postdata_metadata.json: "
        "postdata_0.bin, postdata_1.bin\n"
        "They may be another node's data and would be overwritten. Move them out of the "
        "folder, or restore their postdata_metadata.json to resume them.\n"
    )
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (
            ("--max-file-size", "4097"),
            2,
            "Error: max file size must be a multiple of 16 between 16 and 18446744073709551615, "
            "got 4097\n",
        ),
        (
            ("--labels-per-unit", str(1 << 64)),
            2,
            "Error: labels per unit must be between 1 and 18446744073709551615, "
            "got 18446744073709551616\n",
        ),
        (
            ("--max-file-size", str((1 << 64) + 16)),
            2,
            "Error: max file size must be a multiple of 16 between 16 and 18446744073709551615, "
            "got 18446744073709551632\n",
        ),
        (
            ("--labels-per-unit", "1000000000", "--max-file-size", "16"),
            2,
            "Error: num units x labels per unit / (max file size / 16) = 2 x 1000000000 / 1 "
            "gives 2000000000 data files (more than 16777216)\n"
            "Use a larger max file size (the default is 4 GiB per file).\n",
        ),
    ],
)
def test_init_refused_arguments_write_no_key(
    tmp_path: Path, extra: tuple[str, ...], code: int, message: str
) -> None:
    result = run("init", "--dir", str(tmp_path / "new"), *TINY, *extra, "--backend", "numpy")
    assert (result.exit_code, result.stderr) == (code, message)
    assert not (tmp_path / "new").exists()


def test_init_mainnet_with_too_many_files_is_refused_at_once(tmp_path: Path) -> None:
    result = run(
        "init", "--dir", str(tmp_path / "new"), "--commitment-atx", ATX, "--num-units", "4",
        "--max-file-size", "4096",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "gives 67108864 data files (more than 16777216)" in result.stderr
    assert not (tmp_path / "new").exists()


def test_init_unknown_device_writes_no_key(tmp_path: Path) -> None:
    pytest.importorskip("pyopencl")
    result = run(
        "init", "--dir", str(tmp_path / "new"), *TINY, "--backend", "opencl", "--device", "nosuch"
    )
    assert result.exit_code in (1, 2) and "Error: " in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "new").exists()


def test_init_without_node_id_on_another_nodes_data(tmp_path: Path) -> None:
    directory = tmp_path / "pd"
    other = "33" * 32
    first = run("init", "--dir", str(directory), "--node-id", other, *TINY, "--backend", "numpy")
    assert first.exit_code == 0, first.output
    before = tree(directory)
    result = run("init", "--dir", str(directory), *TINY, "--backend", "numpy")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {directory} already holds PoST data (for node {other}) but no identity.key, "
        "and no node id was given\n"
        f"To resume that data, pass --node-id {other}; for a new identity, use another "
        "folder.\n"
    )
    assert tree(directory) == before  # no identity.key was made


def test_init_without_node_id_resumes_with_its_identity_file(tmp_path: Path) -> None:
    directory = tmp_path / "pd"
    first = run("init", "--dir", str(directory), *TINY, "--backend", "numpy", "--json")
    assert first.exit_code == 0, first.output
    key = (directory / "identity.key").read_bytes()
    again = run("init", "--dir", str(directory), *TINY, "--backend", "numpy", "--json")
    doc = loads_valid(again.stdout, "post-init")
    assert doc["identity_file"] == str(directory / "identity.key")
    assert (doc["files_kept"], doc["files_written"]) == (2, 0)
    assert doc["node_id"] == key.decode()[64:] and (directory / "identity.key").read_bytes() == key


@pytest.mark.parametrize("kind", ["directory", "fifo", "dangling link"])
def test_init_refuses_an_entry_that_is_not_a_data_file(
    data: Path, tmp_path: Path, kind: str
) -> None:
    import os
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    entry = copy / "postdata_1.bin"
    entry.unlink()
    if kind == "directory":
        entry.mkdir()
        (entry / "x").write_bytes(b"\x00" * 1024)
        what = "is a directory, not a PoST data file"
    elif kind == "fifo":
        os.mkfifo(entry)
        what = "is a FIFO (named pipe), not a PoST data file"
    else:
        entry.symlink_to(tmp_path / "nowhere.bin")
        what = "is a symbolic link to a missing file"
    before = tree(copy)
    result = run(
        "init", "--dir", str(copy), "--node-id", NODE, "--commitment-atx", ATX, "--num-units",
        "2", "--max-file-size", "1024", "--preset", "test", "--backend", "numpy",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {entry} {what}\n")
    assert tree(copy) == before and not (tmp_path / "nowhere.bin").exists()


def test_init_deeply_nested_metadata_is_unreadable_not_a_bug(tmp_path: Path) -> None:
    path = tmp_path / "postdata_metadata.json"
    path.write_text("[" * 100_000)
    result = run("init", "--dir", str(tmp_path), "--node-id", NODE, *TINY, "--backend", "numpy")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot read {path}: not valid metadata (JSON nested too deeply)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postdata_metadata.json"]


def test_prove_names_the_metadata_for_a_huge_nonce(data: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    path = copy / "postdata_metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "Nonce": 1 << 70}))
    result = run("prove", "--dir", str(copy), "--challenge", CHALLENGE, "--preset", "test")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {path}: Nonce {1 << 70} is not a label index of this data (it holds 512 labels"
    )


def test_init_empty_dir_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init", "--dir", "", "--node-id", NODE, *TINY, "--backend", "numpy")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --dir is empty\nName the PoST data folder (--dir . for the current one).\n"
    )
    assert list(tmp_path.iterdir()) == []
