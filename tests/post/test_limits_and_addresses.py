"""Bad argument values of prove/profile/verify exit 2; profile never leaves a partial file."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool._exceptions import InvalidParameters, PostError
from mergetool._http import parse_address
from mergetool.cli.main import cli
from mergetool.post.params import MAX_THREADS
from mergetool.post.profile import profile
from mergetool.serve.post_rs import OperatorServer
from tests.post.post_helpers import DataSet

ATX = "11" * 32
NODE = "00" * 31 + "07"
CHALLENGE = "ab" * 32


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["post", *args])
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def data(dataset: DataSet) -> Path:
    return dataset.directory  # the session's test-preset data set (read only)


def test_ipv6_operator_address_in_brackets() -> None:
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with OperatorServer("[::1]:0") as server:
        port = server.address[1]
        with urllib.request.urlopen(f"http://[::1]:{port}/status", timeout=5) as resp:
            assert json.loads(resp.read()) == "Idle"


def test_ipv6_operator_address_without_brackets_is_refused() -> None:
    with pytest.raises(InvalidParameters, match=r"in brackets, e\.g\. \[::1\]:50051"):
        parse_address("::1:50051")


def test_operator_host_that_does_not_resolve_is_a_bad_argument() -> None:
    with pytest.raises(InvalidParameters, match="'no-such-host.invalid:8080'"):
        OperatorServer("no-such-host.invalid:8080")


@pytest.mark.parametrize(
    "extra",
    [
        ("--operator-address", ""),
        ("--threads", str(MAX_THREADS + 1)),
    ],
)
def test_prove_refuses_bad_values_before_work(data: Path, extra: tuple[str, str]) -> None:
    result = run("prove", "--dir", str(data), "--challenge", CHALLENGE, "--preset", "test", *extra)
    assert result.exit_code == 2, result.output


def test_profile_refuses_too_many_threads(tmp_path: Path) -> None:
    result = run(
        "profile", "--data-size", "0.001", "--duration", "0.1", "--threads",
        str(MAX_THREADS + 1), "--data-file", str(tmp_path / "x.bin"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert not (tmp_path / "x.bin").exists()


def test_profile_removes_its_partial_data_file(tmp_path: Path, monkeypatch) -> None:
    import os

    calls = []
    real = os.urandom

    def urandom(n: int) -> bytes:  # the disk fills up after the first chunk
        calls.append(n)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real(n)

    monkeypatch.setattr(os, "urandom", urandom)
    data = tmp_path / "x.bin"
    with pytest.raises(PostError, match=f"cannot write benchmark data to {data}"):
        profile(data_size_gib=64 / 1024, duration=0.1, data_file=data)
    assert not data.exists()


def test_verify_with_an_unknown_opencl_device_is_a_bad_argument(tmp_path: Path) -> None:
    from mergetool.post.backends import get_backend

    try:
        get_backend("opencl", None)
    except PostError:
        pytest.skip("no OpenCL platform here")
    proof = tmp_path / "proof.json"
    proof.write_text('{"nonce": 0, "indices": "", "pow": 0}')
    result = run(
        "verify", "--proof", str(proof), "--node-id", NODE, "--commitment-atx", ATX,
        "--challenge", CHALLENGE, "--num-units", "1", "--preset", "test", "--backend", "opencl",
        "--device", "no-such-device",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no OpenCL device 'no-such-device'" in result.stderr


def test_verify_data_with_the_wrong_scrypt_n_blames_the_parameter_not_the_files(
    data: Path,
) -> None:
    result = run("verify-data", "--dir", str(data), "--fraction", "100", "--scrypt-n", "4")
    assert result.exit_code == 1
    assert "first check that --scrypt-n (or --preset)" in result.stderr
    assert "move the damaged files aside" not in result.stderr


def test_verify_data_with_nothing_initialized_is_not_ok(data: Path, tmp_path: Path) -> None:
    import shutil

    from mergetool.post.metadata import read_metadata, write_metadata

    copy = tmp_path / "fresh"
    shutil.copytree(data, copy)
    meta = read_metadata(copy)
    write_metadata(copy, meta.with_progress(None, 0))  # as right after init started
    result = run("verify-data", "--dir", str(copy), "--fraction", "100", "--preset", "test")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {copy}: nothing to check, no label of the")
    assert "OK" not in result.stdout
