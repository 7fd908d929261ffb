"""A command group whose sub-commands are named in a table and imported only when used.

The one way commands are registered, for ``mergetool`` and for ``mergetool post``: a table
of ``name -> "module:attribute"``, so ``--help`` stays fast and a command that does not
import fails loudly (an ImportError, never a silently missing command).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from mergetool.cli._errors import MergetoolGroup


class LazyGroup(MergetoolGroup):
    """A group of the commands in ``commands`` (name -> ``"module:attribute"``)."""

    def __init__(self, *args: Any, commands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = dict(commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.table)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.table.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command
