"""The lock on a node folder: one writer at a time (``merge-nodes``, ``restore``, ``add-identity``).

A thin layer over :mod:`mergetool._lock` for node folders: the lock is taken before planning
and held until execution ends, so a second run never mistakes a live merge's journal and
staged keys for an interrupted one's. A missing target folder (which a merge creates) is made
first, so that it can hold the lock, and removed again if the run leaves it empty.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from mergetool._exceptions import FolderLocked
from mergetool._fs import make_private_dirs
from mergetool._lock import LOCK_FILE, FolderLock

__all__ = ["LOCK_FILE", "node_folder_lock"]

#: Called once, with the refusal a non-waiting run would have raised, before waiting.
OnWait = Callable[[FolderLocked], None]

_WAIT_HINT = (
    "Only one mergetool process may write a node folder at a time: let that one finish "
    "(or stop it), then run again, or pass `wait=True` to wait for it. Nothing was changed."
)


def _acquire(root: Path, *, wait: bool, on_wait: OnWait | None) -> FolderLock:
    try:
        return FolderLock(root).acquire()
    except FolderLocked as exc:
        if not wait:
            exc.hint = _WAIT_HINT
            raise
        if on_wait is not None:
            on_wait(exc)
    return FolderLock(root, wait=True).acquire()


def _make_missing(root: Path) -> tuple[Path, ...]:
    """Create ``root`` and its missing parents (0700); return the folders this call made."""
    try:
        return make_private_dirs(root)
    except OSError:  # a parent that is a file, a name too long, no permission, ...
        return ()  # planning says what is wrong (nothing is written without the lock)


@contextlib.contextmanager
def node_folder_lock(
    root: Path, *, wait: bool = False, on_wait: OnWait | None = None, create: bool = False
) -> Iterator[tuple[Path, ...]]:
    """Hold the exclusive lock on node folder ``root`` for the body of the ``with``.

    Another holder makes it raise :class:`FolderLocked` naming the holder's PID at once, or
    with ``wait`` call ``on_wait`` and block until the holder is done (a killed holder never
    blocks: the OS drops its lock). With ``create`` a missing ``root`` is created to hold the
    lock (and its missing parents, each 0700): the body gets the folders made, and those the
    run leaves empty are removed again. A ``root`` that is not a folder is not locked:
    planning refuses it.
    """
    root = Path(root)
    created = _make_missing(root) if create else ()
    try:
        if not root.is_dir():
            yield created
            return
        lock = _acquire(root, wait=wait, on_wait=on_wait)
        try:
            yield created
        finally:
            lock.release()
    finally:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only ever removes a folder the run left empty
