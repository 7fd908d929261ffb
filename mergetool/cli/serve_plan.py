"""``serve --dry-run``: the folders checked, then the expected timeline rendered as text."""

from __future__ import annotations

from typing import Any

import click


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def dry_run(
    config: Any,
    *,
    read_speed: float | None,
    k2pow_rate: float | None,
    cycle_gap_h: float,
    fast: bool,
) -> int:
    """Print the plan; the exit status: 1 when some identity would miss the cycle gap."""
    from mergetool.serve.dryrun import measure_k2pow_rate, measure_read_speed, plan_timeline

    speeds: dict[int, float] = {}
    measured: dict[int, bool] = {}
    for ident in config.identities:
        if ident.device not in speeds:
            given = read_speed is not None
            speeds[ident.device] = read_speed * 2**20 if given else measure_read_speed(ident.folder)
            measured[ident.device] = not given
    rate = k2pow_rate
    if config.remote_k2pow:
        rate = None
    elif rate is None:
        rate = measure_k2pow_rate(config.threads, fast=fast)
    timeline = plan_timeline(config, speeds, rate, cycle_gap_s=cycle_gap_h * 3600)
    total = sum(i.data_bytes for i in config.identities)
    n = len(config.identities)
    click.echo(
        f"Plan: {n} identit{'y' if n == 1 else 'ies'} on {len(speeds)} block "
        f"device{'s' if len(speeds) != 1 else ''}, {_size(total)} of PoST data, "
        f"{config.nonces} nonces per pass; cycle gap {cycle_gap_h:g} h"
    )
    click.echo(
        "k2pow: remote " + config.remote_k2pow
        if rate is None
        else f"k2pow: local, {rate:.0f} hashes/s ({config.threads} thread(s), "
        f"RandomX {'fast' if fast else 'light'}{', measured' if k2pow_rate is None else ''})"
    )
    for device, speed in speeds.items():
        how = "measured" if measured[device] else "given"
        click.echo(
            f"device {device:#x}: read speed {speed / 2**20:.1f} MiB/s ({how}), "
            f"{config.passes_per_disk} pass(es) at once"
        )
        order = [i for i in timeline.identities if i.device == device]
        for number, item in enumerate(order, 1):
            click.echo(
                f"  {number}. {item.node_id.hex()[:12]} {item.folder}: {_size(item.data_bytes)}; "
                f"k2pow {_duration(item.k2pow_s)}, reading from {_duration(item.read_start_s)}, "
                f"ready after {_duration(item.finish_s)}"
            )
    for item in timeline.late:
        reading = item.finish_s - item.read_start_s
        click.echo(
            f"warning: {item.node_id.hex()[:12]} ({item.folder}) would be ready after "
            f"{_duration(item.finish_s)}, past the {cycle_gap_h:g} h cycle gap: k2pow waits "
            f"{_duration(item.k2pow_done_s)} (try --remote-k2pow or fewer --nonces), its pass "
            f"reads {_duration(reading)} and waits {_duration(item.read_start_s)} to start "
            "(try --passes-per-disk, or another disk for its data)",
            err=True,
        )
    if not timeline.late:
        click.echo("Every identity is expected to be ready within the cycle gap.")
    return 1 if timeline.late else 0
