"""Options shared by the commands that talk to the node (``status``, ``watch``): the mutual-TLS
files (checked while parsing) and a number of seconds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

FILE = click.Path(path_type=Path, exists=True, dir_okay=False)


def _pem(ctx: click.Context, param: click.Parameter, path: Path | None) -> Path | None:
    """Refuse, while parsing, a TLS file that is no PEM file of its kind (see ``read_pem``)."""
    from mergetool._exceptions import InvalidParameters
    from mergetool.nodeapi.address import read_pem

    if path is None:
        return None
    try:
        read_pem(path, private=param.name == "key")
    except InvalidParameters as exc:
        raise click.BadParameter(exc.message) from exc
    return path


class Seconds(click.FloatRange):
    """Seconds within a range; nan and inf are no number of seconds (nan passes any range)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return super().convert(seconds, param, ctx)


def tls_options(f: Any) -> Any:
    """``--ca-cert``, ``--cert``, ``--key`` and ``--domain`` for the node's TLS listener."""
    for option in reversed(
        [
            click.option("--ca-cert", type=FILE, callback=_pem,
                         help="CA certificate of the node's TLS listener."),
            click.option("--cert", type=FILE, callback=_pem,
                         help="Client certificate for the node's TLS listener."),
            click.option("--key", type=FILE, callback=_pem,
                         help="Private key of the client certificate."),
            click.option("--domain", help="Name to expect in the node's certificate."),
        ]
    ):  # fmt: skip
        f = option(f)
    return f


def connect_timeout_option(f: Any) -> Any:
    return click.option(
        "--connect-timeout",
        type=Seconds(min=0.1, max=600),
        default=5.0,
        show_default=True,
        help="Seconds to wait for the node and each service to answer.",
    )(f)


def operator_token_option(f: Any) -> Any:
    return click.option(
        "--operator-token",
        envvar="MERGETOOL_HTTP_TOKEN",
        show_envvar=True,
        metavar="SECRET",
        help="Sent to every --operator URL as Authorization: Bearer SECRET (a serve started "
        "with --http-token answers 401 without it).",
    )(f)
