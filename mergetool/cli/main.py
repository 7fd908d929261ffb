"""``mergetool``: the umbrella command. Sub-commands are imported only when used."""

from __future__ import annotations

import importlib
from typing import Any

import click

from mergetool import __version__
from mergetool.cli._errors import MergetoolGroup, traceback_option

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


class LazyGroup(MergetoolGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
