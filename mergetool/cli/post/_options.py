"""Options and parameter types shared by the ``mergetool post`` commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from mergetool.post.backends import BACKENDS
from mergetool.post.params import PRESETS, preset


class Hex(click.ParamType):
    """Hex bytes, optionally of an exact length."""

    name = "HEX"

    def __init__(self, length: int | None = None) -> None:
        self.length = length

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> bytes:
        if isinstance(value, bytes):
            return value
        text = str(value).removeprefix("0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            self.fail(f"{value!r} is not hex", param, ctx)
        if self.length is not None and len(raw) != self.length:
            self.fail(
                f"expected {self.length} bytes ({2 * self.length} hex digits), got {len(raw)}",
                param,
                ctx,
            )
        return raw


HEX32 = Hex(32)


def preset_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--preset",
        type=click.Choice(sorted(PRESETS)),
        default="mainnet",
        show_default=True,
        help="Network parameters for options left unset (test: tiny values, see docs/post.md).",
    )(f)


def nonces_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--nonces``: nonces per pass of the scan (``prove`` and ``profile``)."""
    return click.option(
        "--nonces",
        type=click.IntRange(min=16),
        default=128,
        show_default=True,
        help="Nonces per pass (multiple of 16).",
    )(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--json", "as_json", is_flag=True, help="Machine-readable output, no progress bar."
    )(f)


def network_params(preset_name: str, **overrides: Any) -> Any:
    """The preset with the options given on the command line, checked for consistency."""
    from mergetool._exceptions import InvalidParameters
    from mergetool.post.scrypt import check_n

    params = replace(preset(preset_name), **{k: v for k, v in overrides.items() if v is not None})
    if params.min_num_units > params.max_num_units:
        raise InvalidParameters(
            f"--min-units {params.min_num_units} is above --max-units {params.max_num_units}"
        )
    if params.k3 > params.k2:
        raise InvalidParameters(f"--k3 {params.k3} is above --k2 {params.k2}")
    if not any(params.pow_difficulty):
        raise InvalidParameters(
            "--pow-difficulty is zero: no proof of work can be below it",
            hint="The mainnet value is 000dfb23b0979b4b followed by 24 zero bytes.",
        )
    check_n(params.scrypt_n)
    return params


def echo_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2))


def backend_options(f: Any) -> Any:
    """``--backend`` and ``--device``, shared by every command that computes labels."""
    f = click.option("--device", help="OpenCL device id (see `mergetool post devices`).")(f)
    return click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="auto",
        show_default=True,
        help="Where labels are computed (auto: OpenCL when a device is usable, else numpy).",
    )(f)


def _all_cores(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """``--threads 0``: every core (post-rs's meaning), at most MAX_THREADS."""
    import os

    from mergetool.post.params import MAX_THREADS

    return value or min(os.cpu_count() or 1, MAX_THREADS)


def proving_options(f: Any = None, *, randomx_default: str = "light") -> Any:
    """The network and proving options of ``post prove`` (also ``serve``'s), same presets.

    Use as ``@proving_options`` or ``@proving_options(randomx_default="fast")``.
    """
    from mergetool.post.params import MAX_THREADS

    if f is None:
        return lambda g: proving_options(g, randomx_default=randomx_default)
    for option in reversed(
        [
            click.option(
                "--k1", type=click.IntRange(min=1), help="Label difficulty parameter k1 [preset]."
            ),
            click.option(
                "--k2", type=click.IntRange(min=1), help="Labels a proof holds, k2 [preset]."
            ),
            click.option(
                "--pow-difficulty", type=HEX32, help="k2pow difficulty (hex, 32 bytes) [preset]."
            ),
            click.option(
                "--scrypt-n",
                "-n",
                "--n",
                "scrypt_n",
                type=click.IntRange(min=2),
                help="scrypt N, to check the proof before handing it out [preset].",
            ),
            click.option(
                "--labels-per-unit",
                type=click.IntRange(min=1),
                help="Labels per unit of the data, for data initialised with it [preset].",
            ),
            nonces_option,
            click.option(
                "--threads",
                type=click.IntRange(min=0, max=MAX_THREADS),
                default=1,
                show_default=True,
                callback=_all_cores,
                help="Worker processes for the scan and RandomX threads for the k2pow "
                "(0: all cores).",
            ),
            click.option(
                "--randomx-mode",
                type=click.Choice(["fast", "light"]),
                default=randomx_default,
                show_default=True,
                help="fast needs 2 GiB RAM.",
            ),
        ]
    ):
        f = option(f)
    return f
