"""``--retire-source``: move the merged key files of the source out of its node's reach.

Restarting the old node is the usual way to run one identity on two nodes. After the target
has committed (never before), each merged key file of the source moves, byte-identical and
0600, into ``SRC/identities/merged-<UTC timestamp>/``: the node loads only ``*.key`` files
directly in ``identities/`` and skips sub-folders. The source database is never touched. The
moves are listed in the target's merge journal, so a run killed during them is finished by
the next one.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

from mergetool._exceptions import InvalidKeyFile, MergeFailed
from mergetool._fs import fsync_dir, make_private_dirs
from mergetool._progress import StageProgressCallback
from mergetool.merge.model import KeyMove
from mergetool.node.folder import KEY_SUFFIX, IdentityFile, NodeFolder
from mergetool.node.keys import load_key
from mergetool.node.state import KeyEntry

#: ``merged-20261130T214403Z`` (a second run in the same second adds ``-2``, ``-3``, ...)
RETIRED_PREFIX = "merged-"
_RETIRED_NAME = re.compile(r"merged-\d{8}T\d{6}Z(-\d+)?")


def is_retired_folder_name(name: str) -> bool:
    return _RETIRED_NAME.fullmatch(name) is not None


def _new_folder(identities: Path, now: float) -> Path:
    stamp = RETIRED_PREFIX + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    folder, n = identities / stamp, 1
    while os.path.lexists(folder):
        n += 1
        folder = identities / f"{stamp}-{n}"
    return folder


def plan_retirement(
    source: NodeFolder, keys: Iterable[tuple[Path, str]], *, now: float | None = None
) -> tuple[KeyMove, ...]:
    """The moves for ``keys`` (``(source key file, node id)``) into one new sub-folder."""
    keys = list(keys)
    if not keys:
        return ()
    folder = _new_folder(source.identities_dir, time.time() if now is None else now)
    return tuple(KeyMove(path, folder / path.name, node_id) for path, node_id in keys)


def retired_keys(source: NodeFolder) -> list[KeyEntry]:
    """Valid keys an earlier ``--retire-source`` moved into ``identities/merged-*/``."""
    found = []
    try:
        folders = [d for d in source.identities_dir.iterdir() if is_retired_folder_name(d.name)]
    except OSError:
        return []
    for folder in sorted(folders):
        if not folder.is_dir() or folder.is_symlink():
            continue
        for path in sorted(folder.iterdir()):
            if not path.name.endswith(KEY_SUFFIX):
                continue
            try:
                found.append(KeyEntry(IdentityFile(path, path.is_symlink()), load_key(path)))
            except InvalidKeyFile:
                continue
    return found


def _move(move: KeyMove) -> None:
    """One move; a repeat after a kill finishes what is left and never replaces a file."""
    if not os.path.lexists(move.old):
        if os.path.lexists(move.new):
            return  # an earlier run got this far
        raise MergeFailed(
            f"{move.old}: the source key to retire is missing (and not in {move.new.parent})",
            hint="Check the source's identities/ folder; the target itself is merged.",
        )
    if os.path.lexists(move.new):
        raise MergeFailed(
            f"{move.new}: exists already; not replacing it with {move.old}",
            hint="Move one of the two aside by hand; the target itself is merged.",
        )
    if load_key(move.old).node_id_hex != move.node_id:
        raise MergeFailed(
            f"{move.old}: holds another identity than the one merged; not retiring it",
            hint="The source changed since the merge was planned; check it by hand.",
        )
    if not move.old.is_symlink():
        os.chmod(move.old, 0o600)
    os.rename(move.old, move.new)  # one step: the file is in one place or the other


def retire_keys(moves: tuple[KeyMove, ...], progress: StageProgressCallback | None = None) -> None:
    """Carry out ``moves`` (all into one folder), durably."""
    if not moves:
        return
    folder = moves[0].new.parent
    make_private_dirs(folder)
    for n, move in enumerate(moves):
        _move(move)
        if progress is not None:
            progress("retire source keys", n + 1, len(moves))
    fsync_dir(folder)
    fsync_dir(folder.parent)
