"""A node data folder: where its database and identity files are, listed as the node lists them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import NotANodeFolder

LOCAL_DB = "local.sql"
IDENTITIES = "identities"
SUPERVISED_KEY = "local.key"
KEY_SUFFIX = ".key"
# What mergetool itself keeps in a node folder (the node ignores all three):
#: backups of the target (``backups/<UTC timestamp>/``), and what a restore set aside
BACKUPS = "backups"
#: an unfinished merge's journal
JOURNAL_NAME = ".mergetool-journal.json"
#: the suffix of a key staged by a merge, not yet renamed into place
STAGED_SUFFIX = ".mergetool-staged"


@dataclass(frozen=True)
class IdentityFile:
    """One ``*.key`` entry of ``identities/`` (not yet validated)."""

    path: Path
    is_symlink: bool

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def supervised(self) -> bool:
        return self.path.name == SUPERVISED_KEY


@dataclass(frozen=True)
class NodeFolder:
    """Paths of one node data folder (``--data-folder``)."""

    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / LOCAL_DB

    @property
    def wal_path(self) -> Path:
        return self.root / (LOCAL_DB + "-wal")

    @property
    def shm_path(self) -> Path:
        return self.root / (LOCAL_DB + "-shm")

    @property
    def identities_dir(self) -> Path:
        return self.root / IDENTITIES

    @property
    def backups_dir(self) -> Path:
        return self.root / BACKUPS

    @property
    def journal_path(self) -> Path:
        return self.root / JOURNAL_NAME

    @property
    def supervised_key(self) -> Path:
        return self.identities_dir / SUPERVISED_KEY

    def has_pending_wal(self) -> bool:
        """True when the WAL holds frames not yet checkpointed into ``local.sql``."""
        try:
            return self.wal_path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def identity_files(self) -> list[IdentityFile]:
        """``*.key`` entries by name; sub-folders and other files skipped, as the node does."""
        try:
            entries = list(os.scandir(self.identities_dir))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise NotANodeFolder(self.identities_dir, f"cannot list it: {exc.strerror}") from exc
        found = []
        for entry in entries:
            if not entry.name.endswith(KEY_SUFFIX) or entry.is_dir(follow_symlinks=False):
                continue
            found.append(IdentityFile(Path(entry.path), entry.is_symlink()))
        return sorted(found, key=lambda f: f.name)


def refuse_linked_database(folder: NodeFolder) -> None:
    """A merge and a restore write ``local.sql``: refuse one that is a symbolic link.

    The node follows the link; a restore would replace the link itself and a merge would
    write through it, so both refuse it alike, before any write.
    """
    db = folder.db_path
    if db.is_symlink():
        raise NotANodeFolder(
            db,
            f"is a symbolic link (to {os.readlink(db)}); the database is written in place, "
            "never through a link",
            hint="Move the database file itself into the node folder in place of the link "
            "(with the node stopped), then run again. Nothing was changed.",
        )


#: the local database's name before node 1.4
LEGACY_DB = "node_state.sql"


def is_new_folder(path: Path) -> bool:
    """A folder the node has not started in yet: it exists, with no database of any release."""
    root = Path(path)
    return root.is_dir() and not (root / LOCAL_DB).exists() and not (root / LEGACY_DB).exists()


def open_folder(path: Path, *, must_exist: bool = True, side: str = "node") -> NodeFolder:
    """Check that ``path`` looks like a node data folder and return its paths."""
    folder = NodeFolder(Path(path))
    if not must_exist and not folder.root.exists():
        return folder
    if not folder.root.exists():
        raise NotANodeFolder(folder.root, f"{side} data folder does not exist")
    if not folder.root.is_dir():
        raise NotANodeFolder(folder.root, f"given as the {side} data folder, but not a folder")
    if must_exist and not folder.db_path.exists():
        legacy = folder.root / LEGACY_DB
        hint = (
            "This looks like a node 1.3.x folder (node_state.sql); run node v1.4 first."
            if legacy.exists()
            else "Give the node's --data-folder: the folder that holds local.sql."
        )
        raise NotANodeFolder(folder.db_path, f"{side} database not found", hint=hint)
    return folder
