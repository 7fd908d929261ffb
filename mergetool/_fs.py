"""Safe file writes and the one answer to "is this entry a regular file?".

Every write of a node's files goes through here: a crash leaves either the old file or the
whole new one (atomic replace, file and folder fsynced), files we create are 0600 in 0700
folders owned by the owner and group of the folder they land in (so a run as root leaves the
node's user able to read them), and no write follows a symbolic link. Reads that must not
hang on a FIFO or trust a link ask :func:`irregular_kind` with a named :class:`Symlinks` policy.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import secrets
import shutil
import stat
import time
from pathlib import Path

from mergetool._exceptions import DiskFull, FolderNotWritable, ForeignOwner, NotRegularFile

#: Part of the name of every temporary file we create, so a later run can sweep leftovers.
TEMP_MARK = ".mergetool-tmp-"


class Symlinks(enum.Enum):
    """How a symbolic link counts when asking whether an entry is a regular file."""

    #: a link to a regular file is one (the node, or SQLite, would read through it)
    FOLLOW = "follow"
    #: a link is never a regular file (we would move or read the link, not its target)
    REFUSE = "refuse"


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def describe_mode(mode: int) -> str | None:
    """``None`` for a regular file, else what the entry is ("a directory", "a FIFO ...")."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def irregular_kind(path: Path, symlinks: Symlinks) -> str | None:
    """``None`` when ``path`` is a regular file under ``symlinks``, else what it is instead.

    A link whose target is missing is "a symbolic link to a missing file" (under FOLLOW) or
    "a symbolic link" (under REFUSE). Raises ``FileNotFoundError`` when nothing is there.
    """
    try:
        info = os.stat(path, follow_symlinks=symlinks is Symlinks.FOLLOW)
    except FileNotFoundError:
        if symlinks is Symlinks.FOLLOW and os.path.islink(path):
            return "a symbolic link to a missing file"
        raise
    return describe_mode(info.st_mode)


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists: where a missing folder would be made."""
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            return folder
    return Path("/")


def check_can_own(*folders: Path) -> None:
    """Refuse, before any write, folders we may not write in, or whose owner and group new
    files could not take.

    Root can give a file any owner. Anyone else keeps their own uid, and may pick only a
    group they belong to. A missing folder is judged by its nearest existing ancestor.
    """
    for folder in folders:
        where = _existing(Path(folder))
        # access() also answers EROFS for root; without this check the first write fails
        # deep in execution, on a temporary file's name
        if where.is_dir() and not os.access(where, os.W_OK | os.X_OK):
            raise not_writable(where)
        if os.geteuid() != 0:
            _check_can_own(where)


def _check_can_own(where: Path) -> None:
    info = os.stat(where)
    uid = os.geteuid()
    if info.st_uid != uid:
        reason = f"belongs to user {info.st_uid}, not to this user ({uid})"
    elif info.st_gid != os.getegid() and info.st_gid not in os.getgroups():
        reason = f"belongs to group {info.st_gid}, which this user ({uid}) is not a member of"
    else:
        return
    raise ForeignOwner(where, info.st_uid, info.st_gid, reason)


def take_owner(target: Path | int, folder: Path) -> None:
    """Give ``target`` (a path, never followed, or an open fd) the owner and group of ``folder``.

    Only changes what differs, so a run by the folder's owner never needs the right to.
    """
    want = os.stat(folder)
    have = os.fstat(target) if isinstance(target, int) else os.lstat(target)
    if (have.st_uid, have.st_gid) == (want.st_uid, want.st_gid):
        return
    if isinstance(target, int):
        os.fchown(target, want.st_uid, want.st_gid)
    else:
        os.chown(target, want.st_uid, want.st_gid, follow_symlinks=False)


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (a link to one counts).

    Anything else raises NotRegularFile before a byte is read: a FIFO would hang the read and
    a device like /dev/zero never ends. Other failures raise OSError as ``open`` does.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # (opening a FIFO must not wait either)
    try:
        kind = describe_mode(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(path, kind)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        return fh.read(limit + 1)


#: OSError numbers that mean "no room": the file system is full, or the file-size limit is hit.
NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def not_writable(folder: Path) -> FolderNotWritable:
    """The error for a folder this user may not create files in."""
    return FolderNotWritable(folder, os.geteuid())


def disk_full(path: Path, reason: str, *, operation: str | None = None) -> DiskFull:
    """The error for a write to ``path`` that failed for lack of space, with the free space.

    It names the folder, not the file: that may be one of our temporary names. ``operation``
    ("merge", "restore"; see ``SPACE_NEEDED``) lets the hint say what needs the room.
    """
    folder = _existing(Path(path).parent)
    try:
        free: int | None = shutil.disk_usage(folder).free
    except OSError:
        free = None
    return DiskFull(
        folder, reason, free=free, operation=operation, no_inodes=_no_free_inodes(folder)
    )


def _no_free_inodes(folder: Path) -> bool:
    """Every inode in use (file systems with no fixed count, like btrfs, report 0 in all)."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return False
    return info.f_files > 0 and info.f_favail == 0


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_file(
    path: Path, data: bytes, *, mode: int = 0o600, folder_owner: bool = True
) -> None:
    """Create ``path`` (never replacing anything) and fsync it; the caller fsyncs the folder.

    For files whose name alone says they are not final yet (staged keys, a backup folder that
    is renamed into place as a whole), so the temporary-name dance is not needed.
    ``folder_owner=False``: see :func:`write_file_atomic`.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        if folder_owner:
            take_owner(fd, path.parent)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


#: A temporary file of ours this much older than now was left by a killed run.
_LEFTOVER_AGE_S = 60.0


def temp_name(path: Path) -> Path:
    """A fresh temporary name beside ``path``: never a leftover's, even one with our PID
    (PID 1 in every container), whose name an ``O_EXCL`` create would refuse. Leftovers of
    ``path`` from killed runs are removed on the way."""
    sweep_leftovers(path)
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(6)}")


def sweep_leftovers(path: Path, *, older_than_s: float = _LEFTOVER_AGE_S) -> None:
    """Remove the temporary files of ``path`` that killed runs left (best effort).
    ``older_than_s=0`` for a caller that holds the lock no other writer of ``path`` passes."""
    prefix = f".{path.name}{TEMP_MARK}"
    with contextlib.suppress(OSError):
        now = time.time()
        for entry in os.scandir(path.parent):
            ours = entry.name.startswith(prefix) and entry.is_file(follow_symlinks=False)
            if ours and now - entry.stat(follow_symlinks=False).st_mtime >= older_than_s:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def write_file_atomic(
    path: Path, data: bytes, *, mode: int = 0o600, folder_owner: bool = True
) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either nothing or the whole file.

    ``folder_owner=False`` keeps our own owner: for files outside node folders (a report in
    a shared folder such as /tmp, PoST metadata), where no planning check vouched for it.
    """
    tmp = temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        if folder_owner:
            take_owner(fd, path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700 for what we create."""
    make_private_dirs(path)


def missing_dirs(path: Path) -> tuple[Path, ...]:
    """``path`` and its ancestors that do not exist yet, outermost first."""
    missing = []
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return tuple(reversed(missing))


def make_private_dirs(path: Path) -> tuple[Path, ...]:
    """Create ``path`` and any missing ancestors, each 0700 and owned like its parent; return
    those this call made."""
    made: list[Path] = []
    try:
        for folder in missing_dirs(path):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                continue  # made meanwhile by someone else: theirs, not ours
            made.append(folder)
            os.chmod(folder, 0o700)  # whatever the umask
            take_owner(folder, folder.parent)
    except OSError:
        for folder in reversed(made):  # all or nothing: no folder with the wrong owner stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return tuple(made)
