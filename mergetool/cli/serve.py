"""``mergetool serve``: one process proves for every identity of a node (its own protocol)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.cli.post._options import network_params, preset_option, proving_options


def _path(**kw: Any) -> click.Path:
    return click.Path(path_type=Path, **kw)


@click.command(cls=MergetoolCommand)
@click.option(
    "--address",
    required=True,
    help="The node's post listener: http://HOST:PORT (api.grpc-post-listener), or https://… "
    "with --ca-cert/--cert/--key (api.grpc-tls-listener).",
)
@click.option(
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
@proving_options
@click.option("--min-units", type=click.IntRange(min=0), help="[preset]")
@click.option("--max-units", type=click.IntRange(min=0), help="[preset]")
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
    help="Failed attempts in a row before giving up [default: retry forever].",
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
    nonces: int,
    threads: int,
    randomx_mode: str,
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
    passes_per_disk: int,
    state_dir: Path | None,
    log_format: str,
    preset: str,
) -> None:
    """Prove PoST for every identity in the --dir folders, for the node at --address.

    Every folder is checked and locked before connecting; the process runs until SIGTERM or
    SIGINT, then keeps finished proofs on disk for the next start.
    """
    import asyncio
    import signal

    from mergetool.nodeapi.address import parse_node_address, read_tls
    from mergetool.serve.config import plan_serve
    from mergetool.serve.service import Service

    params = network_params(
        preset, k1=k1, k2=k2, pow_difficulty=pow_difficulty, scrypt_n=scrypt_n,
        min_num_units=min_units, max_num_units=max_units,
    )  # fmt: skip
    _, https = parse_node_address(address)
    tls = read_tls(ca_cert, cert, key, domain) if https or ca_cert or cert or key else None
    config = plan_serve(
        list(dirs), params=params, address=address, state_dir=state_dir, tls=tls,
        nonces=nonces, threads=threads, randomx_fast=randomx_mode == "fast",
        passes_per_disk=passes_per_disk, reconnect_interval_s=reconnect_interval_s,
        max_retries=max_retries, remote_k2pow=remote_k2pow,
        remote_k2pow_parallelism=remote_k2pow_parallelism, operator_address=operator_address,
        http_token=http_token,
    )  # fmt: skip

    def log(event: Any) -> None:
        line = json.dumps(event.to_dict()) if log_format == "json" else event.to_text()
        click.echo(line, err=True)

    service = Service(config, on_event=log)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.stop)
        await service.run()

    asyncio.run(main())
