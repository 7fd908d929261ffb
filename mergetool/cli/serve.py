"""``mergetool serve``: one process proves for every identity of a node (its own protocol).

A drop-in for post-rs's ``service`` command line: every flag of it is accepted with the same
meaning and default (``--dir`` may be repeated, for every identity).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.cli.post._options import network_params, preset_option, proving_options


def _path(**kw: Any) -> click.Path:
    return click.Path(path_type=Path, **kw)


def _only_one(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value != 1:
        raise click.BadParameter(
            f"{value}: the network's scrypt uses 1 (post-rs's default); other values are not "
            "supported",
            ctx, param,
        )  # fmt: skip
    return value


def _cores(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        cores = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: expected core numbers like 0,1,2", ctx, param
        ) from None
    if not cores or min(cores) < 0:
        raise click.BadParameter(f"{value!r}: expected core numbers like 0,1,2", ctx, param)
    return cores


@click.command(cls=MergetoolCommand)
@click.option(
    "-a",
    "--address",
    required=True,
    help="The node's post listener: http://HOST:PORT (api.grpc-post-listener), or https://… "
    "with --ca-cert/--cert/--key (api.grpc-tls-listener).",
)
@click.option(
    "-d",
    "--dir",
    "dirs",
    multiple=True,
    required=True,
    type=_path(file_okay=False),
    help="A PoST data folder (repeat for every identity).",
)
@click.option(
    "--operator-address",
    help="Serve the operator page (/) with /status, /identities and /metrics on HOST:PORT.",
)
@click.option(
    "--http-token",
    envvar="MERGETOOL_HTTP_TOKEN",
    show_envvar=True,
    metavar="SECRET",
    help="Required on an --operator-address other than loopback: every request must carry "
    "it (?token=SECRET or Authorization: Bearer SECRET).",
)
@proving_options(randomx_default="fast")
@click.option("-r", "--r", "scrypt_r", type=int, default=1, callback=_only_one, help="scrypt r.")
@click.option("-p", "--p", "scrypt_p", type=int, default=1, callback=_only_one, help="scrypt p.")
@click.option(
    "--min-num-units", "--min-units", "min_units", type=click.IntRange(min=0), help="[preset]"
)
@click.option(
    "--max-num-units", "--max-units", "max_units", type=click.IntRange(min=0), help="[preset]"
)
@click.option("--ca-cert", type=_path(exists=True, dir_okay=False), help="CA of the node (PEM).")
@click.option("--cert", type=_path(exists=True, dir_okay=False), help="Our certificate (PEM).")
@click.option("--key", type=_path(exists=True, dir_okay=False), help="Our private key (PEM).")
@click.option("--domain", help="The name in the node's certificate, if not the address host.")
@click.option(
    "--reconnect-interval-s",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds between attempts to reach the node.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(min=0),
    help="Failed attempts to reach the node in a row before giving up (reset on every "
    "connect; a refused stream does not count) [default: retry forever].",
)
@click.option("--remote-k2pow", metavar="URL", help="A k2pow-service to solve k2pow.")
@click.option(
    "--remote-k2pow-parallelism",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Nonce groups asked of the k2pow-service at once.",
)
@click.option(
    "--remote-k2pow-backoff",
    "remote_k2pow_backoff_s",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds before asking a failing k2pow-service again (no answer, timeout, 5xx).",
)
@click.option(
    "--remote-k2pow-fallback-after",
    "remote_k2pow_fallback_after_s",
    type=click.FloatRange(min=0),
    metavar="S",
    help="Solve k2pow locally once the k2pow-service has failed for S seconds in a row "
    "[default: keep asking it, as post-rs].",
)
@click.option(
    "--watch-pid",
    type=click.IntRange(min=1),
    help="Stop (keeping finished proofs) when the process with this id ends.",
)
@click.option(
    "--pinned-cores",
    callback=_cores,
    metavar="LIST",
    help="Run on these CPU cores only (e.g. 0,1,2); worker processes inherit it.",
)
@click.option(
    "--passes-per-disk",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Data passes at once on one block device.",
)
@click.option(
    "--state-dir",
    type=_path(file_okay=False),
    help="Where finished proofs are kept [default: .mergetool-serve inside each --dir].",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event on stderr.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything, print the plan and the expected finish of every identity against "
    "the cycle gap, and exit (1 when one would miss it).",
)
@click.option(
    "--read-speed",
    type=click.FloatRange(min=0, min_open=True),
    metavar="MIB_S",
    help="With --dry-run: the disks' read speed [default: measured briefly per disk].",
)
@click.option(
    "--k2pow-rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="HASHES_S",
    help="With --dry-run: RandomX hashes/s of the local k2pow [default: measured for 1 s].",
)
@click.option(
    "--cycle-gap",
    "cycle_gap_h",
    type=click.FloatRange(min=0, min_open=True),
    default=12.0,
    show_default=True,
    metavar="HOURS",
    help="With --dry-run: the time a proof has.",
)
@preset_option
def serve(
    address: str,
    dirs: tuple[Path, ...],
    operator_address: str | None,
    http_token: str | None,
    k1: int | None,
    k2: int | None,
    pow_difficulty: bytes | None,
    scrypt_n: int | None,
    labels_per_unit: int | None,
    nonces: int,
    threads: int,
    randomx_mode: str,
    scrypt_r: int,
    scrypt_p: int,
    min_units: int | None,
    max_units: int | None,
    ca_cert: Path | None,
    cert: Path | None,
    key: Path | None,
    domain: str | None,
    reconnect_interval_s: float,
    max_retries: int | None,
    remote_k2pow: str | None,
    remote_k2pow_parallelism: int,
    remote_k2pow_backoff_s: float,
    remote_k2pow_fallback_after_s: float | None,
    watch_pid: int | None,
    pinned_cores: list[int] | None,
    passes_per_disk: int,
    state_dir: Path | None,
    log_format: str,
    dry_run: bool,
    read_speed: float | None,
    k2pow_rate: float | None,
    cycle_gap_h: float,
    preset: str,
) -> None:
    """Prove PoST for every identity in the --dir folders, for the node at --address.

    Every folder is checked and locked before connecting; the process runs until SIGTERM or
    SIGINT (or --watch-pid ends), then keeps finished proofs on disk for the next start.
    """
    from mergetool.cli._serve_run import hold_sigterm, log_setup, run_service
    from mergetool.nodeapi.address import parse_node_address, read_tls
    from mergetool.serve.config import plan_serve

    early_stop = None if dry_run else hold_sigterm()  # (a SIGTERM while starting: stop at once)
    log_setup(log_format)  # before grpc is imported: its C core logs through it
    params = network_params(
        preset, k1=k1, k2=k2, pow_difficulty=pow_difficulty, scrypt_n=scrypt_n,
        labels_per_unit=labels_per_unit, min_num_units=min_units, max_num_units=max_units,
    )  # fmt: skip
    _, https = parse_node_address(address)
    tls = read_tls(ca_cert, cert, key, domain) if https or ca_cert or cert or key else None
    config = plan_serve(
        list(dirs), params=params, address=address, state_dir=state_dir, tls=tls,
        nonces=nonces, threads=threads, randomx_fast=randomx_mode == "fast",
        passes_per_disk=passes_per_disk, reconnect_interval_s=reconnect_interval_s,
        max_retries=max_retries, remote_k2pow=remote_k2pow,
        remote_k2pow_parallelism=remote_k2pow_parallelism,
        remote_k2pow_backoff_s=remote_k2pow_backoff_s,
        remote_k2pow_fallback_after_s=remote_k2pow_fallback_after_s,
        operator_address=operator_address, watch_pid=watch_pid, http_token=http_token,
    )  # fmt: skip

    if dry_run:
        from mergetool.cli.serve_plan import dry_run as render_plan

        status = render_plan(
            config, read_speed=read_speed, k2pow_rate=k2pow_rate, cycle_gap_h=cycle_gap_h,
            fast=randomx_mode == "fast",
        )  # fmt: skip
        click.get_current_context().exit(status)

    def log(event: Any) -> None:
        line = json.dumps(event.to_dict()) if log_format == "json" else event.to_text()
        click.echo(line, err=True)

    json_logs = log_format == "json"
    run_service(config, log, pinned_cores=pinned_cores, json_logs=json_logs, early_stop=early_stop)
