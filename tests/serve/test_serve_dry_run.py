"""``serve --dry-run``: folders checked, the plan and expected finish printed, nothing started."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.serve.dryrun import expected_k2pow_hashes, plan_timeline
from tests.serve.serve_helpers import NODE_IDS, config_for

ADDRESS = "http://127.0.0.1:1"  # never dialled


def test_the_timeline_queues_k2pow_on_the_host_and_passes_on_each_disk(
    post_dirs: Callable[[int], list[Path]],
) -> None:
    config = config_for(ADDRESS, post_dirs(2), nonces=32)
    a, b = config.identities
    config = replace(config, identities=(a, replace(b, device=a.device)))
    hashes = expected_k2pow_hashes(config, a)
    size = a.data_bytes
    timeline = plan_timeline(config, {a.device: size / 10}, hashes / 100, cycle_gap_s=115)
    first, second = timeline.identities
    assert (first.k2pow_s, first.k2pow_done_s, first.finish_s) == (100, 100, 110)
    assert (second.k2pow_done_s, second.read_start_s, second.finish_s) == (200, 200, 210)
    assert first.in_time and not second.in_time
    assert timeline.late == (second,)
    shared = plan_timeline(replace(config, passes_per_disk=2), {a.device: size / 10}, None)
    assert [i.finish_s for i in shared.identities] == [20, 20]  # two passes share the disk


def test_dry_run_prints_the_plan_and_starts_nothing(
    post_dirs: Callable[[int], list[Path]],
) -> None:
    dirs = post_dirs(2)
    args = ["serve", "--preset", "test", "-a", ADDRESS, "-d", str(dirs[0]), "-d", str(dirs[1]),
            "--dry-run", "--read-speed", "100", "--k2pow-rate", "1000000", "--randomx-mode",
            "light"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Plan: 2 identities on 1 block device, 16.0 KiB of PoST data, ")
    assert lines[1] == "k2pow: local, 1000000 hashes/s (1 thread(s), RandomX light)"
    device = os.stat(dirs[0]).st_dev
    assert lines[2] == f"device {device:#x}: read speed 100.0 MiB/s (given), 1 pass(es) at once"
    assert lines[3].startswith(f"  1. {NODE_IDS[0].hex()[:12]} {dirs[0].resolve()}: 8.0 KiB; ")
    assert lines[4].startswith(f"  2. {NODE_IDS[1].hex()[:12]} {dirs[1].resolve()}: 8.0 KiB; ")
    assert lines[-1] == "Every identity is expected to be ready within the cycle gap."
    for folder in dirs:
        assert not (folder / ".mergetool.lock").exists()
        assert not (folder / ".mergetool-serve").exists()


def test_dry_run_warns_of_each_identity_that_would_be_late_and_exits_1(
    post_dirs: Callable[[int], list[Path]],
) -> None:
    (folder,) = post_dirs(1)
    args = ["serve", "--preset", "test", "-a", ADDRESS, "-d", str(folder), "--dry-run",
            "--read-speed", "0.001", "--k2pow-rate", "1000000", "--cycle-gap", "0.0001",
            "--randomx-mode", "light"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        f"warning: {NODE_IDS[0].hex()[:12]} ({folder.resolve()}) would be ready after "
    )
    assert "past the 0.0001 h cycle gap" in result.stderr
    assert "(try --passes-per-disk, or another disk for its data)" in result.stderr


def test_dry_run_measures_the_disk_and_refuses_bad_folders_first(
    post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    base = ["serve", "--preset", "test", "-a", ADDRESS, "--dry-run", "--k2pow-rate", "1e6"]
    result = CliRunner().invoke(cli, [*base, "-d", str(folder)])
    assert result.exit_code == 0, result.output
    assert "MiB/s (measured)" in result.stdout
    result = CliRunner().invoke(cli, [*base, "-d", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path}/postdata_metadata.json does not exist")
