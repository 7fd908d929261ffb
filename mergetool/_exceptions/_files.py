"""Errors of files and folders: locks, owners, writability, space, what an entry is."""

from __future__ import annotations

import errno
from pathlib import Path

from mergetool._exceptions._base import MergetoolError
from mergetool._exceptions._node import NodeDataError


class ForeignOwner(NodeDataError):
    """``folder`` belongs to ``uid``/``gid``, and we (not root) cannot give new files to them."""

    def __init__(self, folder: Path, uid: int, gid: int, reason: str) -> None:
        self.folder, self.uid, self.gid = folder, uid, gid
        super().__init__(
            f"{folder}: {reason}; files written there would not belong to the node's user "
            "and the node could not read them",
            hint="Nothing was changed. Run mergetool as the folder's owner (e.g. "
            f"sudo -u '#{uid}' ...) or as root, which gives new files the folder's owner.",
        )


class FolderNotWritable(NodeDataError):
    """User ``uid`` may not create files in ``folder`` (permissions or a read-only mount)."""

    def __init__(self, folder: Path, uid: int) -> None:
        super().__init__(
            f"{folder}: this user ({uid}) may not create files in this folder "
            "(it is not writable, or on a read-only file system)",
            hint="Nothing was changed. Make it writable by this user (e.g. chmod u+w "
            f"'{folder}'), remount it read-write, or run mergetool as its owner.",
        )
        self.folder = folder


#: What each operation needs room for, told in DiskFull's hint (keyed by ``operation``).
SPACE_NEEDED = {
    "merge": "the merge needs about the size of the source's database and a backup of the target's",
    "restore": "the restore needs about the size of the backup's database, and as much "
    "again as the current one to keep it",
}


class DiskFull(NodeDataError):
    """A write in ``folder`` failed: the disk (or the file size allowed us) is full.

    ``free_bytes`` is the space left there when known; ``operation`` (a key of
    :data:`SPACE_NEEDED`, or None) says what the hint tells the room is needed for.
    """

    def __init__(
        self,
        folder: Path,
        reason: str,
        *,
        free: int | None,
        operation: str | None = None,
        no_inodes: bool = False,
    ) -> None:
        space = "" if free is None else f"; {free / 2**20:.1f} MiB free there"
        needs = f" ({SPACE_NEEDED[operation]})" if operation else ""
        if no_inodes:  # room for bytes, none for one more file
            super().__init__(
                f"{folder}: no free inodes: the file system can hold no more files ({reason})"
                f"{space}, but no file can be created",
                hint=f"Remove files you do not need on that file system (`df -i {folder}` "
                "shows its inodes; many small files use them up), then run the same command "
                "again.",
            )
        else:
            super().__init__(
                f"{folder}: the disk is full, or we may not write more there ({reason}){space}",
                hint=f"Free some space in {folder}{needs}, then run the same command again.",
            )
        self.folder, self.reason, self.free_bytes = folder, reason, free
        self.operation, self.no_inodes = operation, no_inodes

    def during(self, operation: str) -> DiskFull:
        """The same error, its hint telling what ``operation`` needs room for."""
        return DiskFull(
            self.folder, self.reason, free=self.free_bytes, operation=operation,
            no_inodes=self.no_inodes,
        )  # fmt: skip


class NotRegularFile(MergetoolError, OSError):
    """``path`` is a FIFO, device, socket or directory where a regular file must be.

    Also an OSError (EINVAL, ``strerror`` saying what it is), so a caller that reports any
    failed read handles it as one.
    """

    def __init__(self, path: Path, kind: str) -> None:
        what = f"it is {kind}, not a regular file"
        super().__init__(f"{path}: {what}")
        self.errno, self.strerror, self.filename = errno.EINVAL, what, str(path)
        self.path, self.kind = path, kind


class FolderLocked(MergetoolError):
    """Another process holds ``folder``'s lock (``pid``: the holder, when it wrote one)."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(
            f"{folder} is locked by {holder}",
            hint="Only one mergetool process may work on a folder at a time: wait for that "
            "one to finish or stop it, then try again.",
        )
        self.folder = folder
        self.pid = pid

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "folder": str(self.folder), "pid": self.pid}


class InvalidInputFile(MergetoolError):
    """A file given to ``check`` (the node config, an ``--against`` report) is not what it
    should be; ``line``/``column`` say where when known, ``code`` is the finding code."""

    def __init__(
        self,
        path: Path,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
        code: str = "invalid_input",
    ) -> None:
        where = f"line {line} column {column}: " if line else ""
        super().__init__(f"{path}: {where}{reason}")
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column
        self.code = code
