"""``mergetool``: the umbrella command. Sub-commands are imported only when used."""

from __future__ import annotations

from typing import Any

import click

from mergetool import __version__
from mergetool.cli._errors import traceback_option
from mergetool.cli._group import LazyGroup

# name -> "module:attribute"; imported lazily so ``--help`` stays fast.
_COMMANDS = {
    "add-identity": "mergetool.cli.add_identity:add_identity",
    "check": "mergetool.cli.check:check_cmd",
    "inspect": "mergetool.cli.inspect:inspect_cmd",
    "k2pow-service": "mergetool.cli.k2pow_service:k2pow_service",
    "merge": "mergetool.cli.merge_nodes:merge_cmd",
    "post": "mergetool.cli.post:post",
    "restore": "mergetool.cli.restore:restore",
    "serve": "mergetool.cli.serve:serve",
    "status": "mergetool.cli.status:status_cmd",
    "watch": "mergetool.cli.watch:watch_cmd",
}


@click.group(
    cls=LazyGroup, commands=_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="mergetool")
@traceback_option
@click.option("--verbose", "-v", is_flag=True, help="Log what the library decides (to stderr).")
def cli(traceback: bool, verbose: bool) -> None:
    """Inspect, merge and restore Spacemesh node data; initialise, prove and verify PoST data."""
    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="mergetool")
