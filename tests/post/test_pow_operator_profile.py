"""RandomX / k2pow, the operator status API and the profiler."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mergetool._exceptions import InvalidParameters, ProvingFailed
from mergetool._http import parse_address
from mergetool.post import pow as pow_module
from mergetool.post.pow import find_pow, pow_input, pow_is_valid, randomx_hash, randomx_vm
from mergetool.post.profile import can_drop_cache, profile
from mergetool.serve.post_rs import OperatorServer


def test_randomx_published_vector(randomx_vector: dict[str, str]) -> None:
    out = randomx_hash(randomx_vector["input"].encode(), key=randomx_vector["key"].encode())
    assert out.hex() == randomx_vector["hash_hex"]


def test_pow_input_layout() -> None:
    data = pow_input(0x0102030405060708, 9, bytes(range(32)), b"\xee" * 32)
    assert data == bytes([8, 7, 6, 5, 4, 3, 2]) + b"\x09" + bytes(range(8)) + b"\xee" * 32
    assert len(data) == 48


def test_find_pow_meets_the_target_with_one_or_two_threads() -> None:
    target = b"\x20" + b"\xff" * 31  # about 1 hash in 8 passes
    for threads in (1, 2):
        value = find_pow(3, bytes(32), bytes(32), target, threads=threads)
        assert pow_is_valid(value, 3, bytes(32), bytes(32), target)
    assert not pow_is_valid(0, 3, bytes(32), bytes(32), bytes(32))
    assert not pow_is_valid(0, 256, bytes(32), bytes(32), b"\xff" * 32)


def test_worker_vms_share_one_cache() -> None:
    first, second = randomx_vm(slot=0), randomx_vm(slot=1)
    assert first is not second and first.cache is second.cache


@pytest.fixture
def fast_mode():
    """Fast mode builds a 2 GiB dataset (~30 s): give the memory back afterwards."""
    yield
    for key in [k for k in pow_module._vms if k[1]]:
        del pow_module._vms[key]
    for key in [k for k in pow_module._machines if k[1]]:
        del pow_module._machines[key]


def test_fast_mode_hashes_like_light_mode_with_one_dataset(fast_mode: None) -> None:
    data = pow_input(12345, 3, bytes(range(32)), b"\xee" * 32)
    assert randomx_hash(data, fast=True) == randomx_hash(data)  # light: the published vector
    first, second = randomx_vm(fast=True, slot=0), randomx_vm(fast=True, slot=1)
    assert first is not second and first.dataset is second.dataset is not None
    target = b"\x20" + b"\xff" * 31
    assert find_pow(3, bytes(32), bytes(32), target, threads=2, fast=True) == find_pow(
        3, bytes(32), bytes(32), target
    )


def test_group_above_255_has_no_pow() -> None:
    with pytest.raises(ProvingFailed, match="nonce group 256 is above 255"):
        find_pow(256, bytes(32), bytes(32), b"\xff" * 32)


def _get(port: int) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as resp:
        return json.loads(resp.read())


def test_operator_status_states() -> None:
    with OperatorServer("127.0.0.1:0") as server:
        port = server.address[1]
        assert _get(port) == "Idle"
        server.set_proving(0, 128, 10000)
        assert _get(port) == {"Proving": {"nonces": {"start": 0, "end": 128}, "position": 10000}}
        server.set_done()
        assert _get(port) == "DoneProving"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)


@pytest.mark.parametrize("address", ["nope", "host:", "host:99999"])
def test_bad_operator_address(address: str) -> None:
    with pytest.raises(InvalidParameters, match="operator address must be HOST:PORT"):
        parse_address(address)


def test_profile_small_file(tmp_path: Path) -> None:
    data = tmp_path / "bench.bin"
    result = profile(data_size_gib=1 / 1024, duration=0.05, threads=2, nonces=32, data_file=data)
    assert data.stat().st_size == 1 << 20
    assert result.passes >= 1 and result.speed_gib_s > 0
    assert result.cache_dropped == can_drop_cache()
    assert set(result.to_dict()) >= {"time_s", "speed_gib_s"}
    kept = profile(
        data_size_gib=1 / 1024, duration=0.01, nonces=16, data_file=data, keep_cache=True
    )
    assert not kept.cache_dropped


def test_profile_never_changes_an_existing_file(tmp_path: Path) -> None:
    data = tmp_path / "postdata_0.bin"
    data.write_bytes(b"\x5a" * 4096)
    with pytest.raises(InvalidParameters, match="holds 4096 bytes, less than the 1048576"):
        profile(data_size_gib=1 / 1024, duration=0.01, nonces=16, data_file=data)
    assert data.read_bytes() == b"\x5a" * 4096
    result = profile(data_size_gib=4096 / (1 << 30), duration=0.01, nonces=16, data_file=data)
    assert result.passes >= 1 and data.read_bytes() == b"\x5a" * 4096


def test_profile_rejects_odd_nonces() -> None:
    with pytest.raises(InvalidParameters, match="multiple of 16"):
        profile(data_size_gib=0.001, duration=1, nonces=20)


def test_the_cycle_gap_fit_is_bound_by_the_slower_of_scan_and_disk() -> None:
    from mergetool.post.fit import fit_cycle_gap

    mainnet = 1 << 32  # labels per unit: 64 GiB units
    scan = fit_cycle_gap(2.0, labels_per_unit=mainnet)
    assert (scan.bound, scan.pass_s_per_unit, scan.units) == ("scan", 32.0, 1350)
    disk = fit_cycle_gap(2.0, labels_per_unit=mainnet, read_gib_s=0.5, read_source="given")
    assert (disk.bound, disk.pass_s_per_unit, disk.units) == ("disk", 128.0, 337)
    short = fit_cycle_gap(2.0, labels_per_unit=mainnet, cycle_gap_s=3600)
    assert short.units == 112
    assert disk.to_dict() == {
        "scan_speed_gib_s": 2.0, "read_speed_gib_s": 0.5, "read_speed_source": "given",
        "unit_gib": 64.0, "pass_s_per_unit": 128.0, "cycle_gap_s": 43200.0,
        "units_in_cycle_gap": 337, "bound": "disk",
    }  # fmt: skip


def test_a_short_read_measures_a_data_folder_and_writes_nothing(tmp_path: Path) -> None:
    from mergetool.post.fit import measure_read_speed

    (tmp_path / "postdata_0.bin").write_bytes(b"\x01" * (1 << 20))
    (tmp_path / "postdata_1.bin").write_bytes(b"\x02" * (1 << 20))
    assert measure_read_speed(tmp_path) > 0
    assert (tmp_path / "postdata_1.bin").read_bytes() == b"\x02" * (1 << 20)
    with pytest.raises(InvalidParameters, match="no PoST data files"):
        measure_read_speed(tmp_path / "postdata_0.bin")
