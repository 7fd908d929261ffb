"""``mergetool post devices``: the table, its JSON, and what it says when OpenCL is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from mergetool.cli.post.devices import devices
from mergetool.post.backends import opencl
from tests.schema_check import loads_valid

FAKE = opencl.DeviceInfo(
    id="0:1",
    platform="Portable Computing Language",
    name="pthread-haswell-AMD EPYC",
    type="CPU",
    global_memory=4 << 30,
    max_alloc=1 << 30,
    compute_units=2,
)


@pytest.fixture
def one_device(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(opencl, "list_devices", lambda: [FAKE])


def test_table(one_device) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(devices, [])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "ID   PLATFORM                     DEVICE                    TYPE  MEMORY   UNITS",
        "0:1  Portable Computing Language  pthread-haswell-AMD EPYC  CPU   4.0 GiB  2",
    ]


def test_json(one_device) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(devices, ["--json"])
    assert result.exit_code == 0
    assert loads_valid(result.stdout, "post-devices") == {"format": 1, "devices": [FAKE.to_dict()]}


def test_no_device_says_what_to_install(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(opencl, "list_devices", lambda: [])
    result = CliRunner().invoke(devices, [])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "apt-get install pocl-opencl-icd" in result.stderr
    result = CliRunner().invoke(devices, ["--json"])
    assert loads_valid(result.stdout, "post-devices") == {"format": 1, "devices": []}


def test_missing_pyopencl(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "pyopencl", None)
    result = CliRunner().invoke(devices, [])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: pyopencl is not installed\nInstall it with: pip install 'mergetool[opencl]'\n"
    )


@pytest.mark.skipif(not opencl.is_available(), reason="no OpenCL platform/device on this machine")
def test_real_devices_listed() -> None:
    result = CliRunner().invoke(devices, ["--json"])
    assert result.exit_code == 0
    ids = [d["id"] for d in loads_valid(result.stdout, "post-devices")["devices"]]
    assert ids == [d.id for d in opencl.list_devices()]


def test_import_stays_light() -> None:
    code = (
        "import sys, mergetool.cli.post.devices; "
        "print(sorted(m for m in ('numpy', 'pyopencl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registered_under_mergetool_post(one_device) -> None:  # type: ignore[no-untyped-def]
    from mergetool.cli.main import cli

    result = CliRunner().invoke(cli, ["post", "devices", "--json"])
    assert result.exit_code == 0
    assert loads_valid(result.stdout, "post-devices") == {"format": 1, "devices": [FAKE.to_dict()]}
