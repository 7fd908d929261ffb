"""``--wait`` and the node-folder lock, for the commands that write a node folder."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from mergetool._exceptions import FolderLocked
from mergetool.node.lock import node_folder_lock

F = TypeVar("F", bound=Callable[..., Any])


def wait_option(func: F) -> F:
    return click.option(
        "--wait",
        is_flag=True,
        help="If another mergetool run is writing the folder, wait for it to finish "
        "(default: refuse at once, naming its process id).",
    )(func)


def _say_waiting(exc: FolderLocked) -> None:
    holder = f"process {exc.pid}" if exc.pid is not None else "another process"
    click.echo(
        f"Waiting for {holder}, which is writing {exc.folder}, to finish (Ctrl-C to give up)...",
        err=True,
    )


@contextlib.contextmanager
def holding(folder: Path, *, wait: bool, create: bool = False) -> Iterator[tuple[Path, ...]]:
    """Hold ``folder``'s lock from before planning to the end of execution; with ``create``,
    a missing folder is made first, and the body gets the folders made."""
    with node_folder_lock(folder, wait=wait, on_wait=_say_waiting, create=create) as made:
        yield made
