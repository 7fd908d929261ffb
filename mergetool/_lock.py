"""An exclusive OS advisory lock on a folder: one process at a time works in it.

``fcntl.flock`` on ``<folder>/.mergetool.lock``, which also records the holder's PID for
the message a second locker gets. The kernel drops the lock when its holder exits in any
way (even ``kill -9``), so a crashed process never blocks the next one (it leaves the file,
which the next locker reuses). A clean release removes the file while still holding the
lock, so the folder is left as it was found; a locker that got the lock on a file removed
meanwhile notices (its inode is no longer the path's) and tries again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path

from mergetool._exceptions import FolderLocked, MergetoolError
from mergetool._fs import NO_SPACE, disk_full, not_writable, take_owner

LOCK_FILE = ".mergetool.lock"
_POLL_S = 0.05
_PID_TRIES = 20  # x 10 ms: how long a refusal waits for a fresh holder to write its PID


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _holder(fd: int) -> int | None:
    """The PID the holder wrote; it may have the lock but not have written it yet."""
    for _ in range(_PID_TRIES):
        pid = _read_pid(fd)
        if pid is not None:
            return pid
        time.sleep(_POLL_S / 5)
    return None


class FolderLock:
    """Holds the lock on ``folder`` from ``acquire`` (or ``with``) until ``release``.

    ``wait=False`` fails at once with FolderLocked naming the folder and holder PID;
    ``wait=True`` retries until ``timeout_s`` (None: forever).
    """

    def __init__(self, folder: Path, *, wait: bool = False, timeout_s: float | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.wait = wait
        self.timeout_s = timeout_s
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> FolderLock:
        if self._fd is not None:
            return self
        existed = os.path.lexists(self.path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise not_writable(self.folder) from exc
            if exc.errno in NO_SPACE:  # (no room for the lock file: out of space or inodes)
                raise disk_full(self.path, exc.strerror or str(exc)) from exc
            raise MergetoolError(f"cannot lock {self.folder}: {exc.strerror}") from exc
        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if not self.wait or (deadline is not None and time.monotonic() >= deadline):
                        raise FolderLocked(self.folder, _holder(fd)) from None
                    time.sleep(_POLL_S)
                    continue
                if self._is_current(fd):
                    break
                os.close(fd)  # its holder removed that file on release: lock the new one
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            # under sudo the file must still be the node user's, like every file we write;
            # a user who may not give it away keeps it (planning refuses such folders anyway)
            with contextlib.suppress(PermissionError):
                take_owner(fd, self.folder)
            os.ftruncate(fd, 0)
            holder = f"{os.getpid()}\n".encode()
            if os.pwrite(fd, holder, 0) != len(holder):  # (cut short at a file-size limit)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except BaseException as exc:
            if not existed and self._is_current(fd):  # no empty lock file left behind
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            os.close(fd)
            if isinstance(exc, OSError) and exc.errno in NO_SPACE:
                raise disk_full(self.path, f"writing {self.path}: {exc.strerror}") from exc
            raise
        self._fd = fd
        return self

    def _is_current(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)

    def release(self) -> None:
        """Give the lock up, removing the lock file first; a no-op when not held."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            # (in a read-only folder the file stays; the lock still goes with the descriptor)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(fd)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_folder(folder: Path, *, wait: bool = False, timeout_s: float | None = None) -> FolderLock:
    """Lock ``folder`` now (see FolderLock); use as ``with lock_folder(d): ...``."""
    return FolderLock(folder, wait=wait, timeout_s=timeout_s).acquire()
