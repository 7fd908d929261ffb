"""An interrupted merge found in a target: decided while planning, finished or undone first.

The journal (:mod:`mergetool.merge.journal`) lists the keys a merge staged. Planning decides
from the target's state whether its database commit happened (roll forward: rename the staged
keys into place) or not (roll back: remove them); execution does exactly that before anything
else.
"""

from __future__ import annotations

import os
from pathlib import Path

from mergetool._exceptions import InvalidKeyFile, MergeFailed
from mergetool._fs import fsync_dir
from mergetool.merge.journal import Journal, read_journal
from mergetool.merge.model import KeyMove, Recovery
from mergetool.merge.retire import retire_keys
from mergetool.node.folder import IdentityFile, NodeFolder
from mergetool.node.keys import load_key
from mergetool.node.state import KeyEntry, NodeState


def _all_staged(target: NodeState, journal: Journal) -> bool:
    """Every key of ``journal`` staged whole (or already installed)."""
    ids = target.folder.identities_dir
    for k in journal.keys:
        if (ids / k.final).exists():
            continue
        try:
            if load_key(ids / k.staged).node_id_hex != k.node_id:
                return False
        except InvalidKeyFile:
            return False
    return True


def _retire_moves(journal: Journal) -> tuple[KeyMove, ...]:
    if not journal.retire or journal.retire_folder is None:
        return ()
    home = NodeFolder(Path(journal.source)).identities_dir
    return tuple(
        KeyMove(home / name, home / journal.retire_folder / name, node_id)
        for name, node_id in journal.retire
    )


def plan_recovery(target: NodeState, journal: Journal | None) -> Recovery | None:
    if journal is None:
        return None
    # With rows, their transaction is the commit point; without, having staged every key is.
    if journal.expected_rows == 0:
        committed = _all_staged(target, journal)
    else:
        committed = any(target.rows_of(bytes.fromhex(n)) for n in journal.node_ids)
    ids = target.folder.identities_dir
    return Recovery(
        action="roll-forward" if committed else "roll-back",
        journal=journal.path,
        staged=tuple((k.staged, k.final) for k in journal.keys),
        staged_present=sum(os.path.lexists(ids / k.staged) for k in journal.keys),
        retire=_retire_moves(journal) if committed else (),
    )


def keys_after_recovery(target: NodeState, recovery: Recovery | None) -> list[KeyEntry]:
    """The target's key files as they will be once an interrupted merge is rolled forward."""
    entries = list(target.keys)
    if recovery is None or recovery.action != "roll-forward":
        return entries
    present = {e.file.name for e in entries}
    for staged, final in recovery.staged:
        if final in present:
            continue
        staged_path = target.folder.identities_dir / staged
        key = load_key(staged_path)  # raises InvalidKeyFile naming the staged file
        entries.append(
            KeyEntry(IdentityFile(target.folder.identities_dir / final, is_symlink=False), key)
        )
    return entries


def install_staged(identities: Path, staged: str, final: str) -> None:
    """Move a staged key to its final name without ever replacing an existing file."""
    src, dst = identities / staged, identities / final
    if not src.exists():
        if dst.exists():
            return  # an earlier run got this far
        raise MergeFailed(f"{src}: staged key missing; cannot finish the interrupted merge")
    if dst.exists() and os.path.samefile(src, dst):
        # An earlier run was stopped between the link and the unlink: only the unlink is left.
        src.unlink()
        return
    os.link(src, dst)
    src.unlink()


def recover(folder: NodeFolder, recovery: Recovery) -> str:
    """Finish (roll forward) or undo (roll back) an interrupted merge, as the plan decided."""
    journal = read_journal(folder.root)
    if journal is None:
        return "nothing"
    ids = folder.identities_dir
    if recovery.action == "roll-forward":
        for staged, final in recovery.staged:
            install_staged(ids, staged, final)
        fsync_dir(ids)
        retire_keys(recovery.retire)  # only ever after the target's commit
    else:
        for staged, _ in recovery.staged:
            (ids / staged).unlink(missing_ok=True)
    fsync_dir(ids)
    journal.remove()
    return recovery.action
