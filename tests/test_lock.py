"""The folder lock, held by real processes: refusal naming the holder, wait mode, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mergetool._exceptions import FolderLocked
from mergetool._lock import LOCK_FILE, FolderLock, lock_folder

_HOLD = """
import sys, time
from pathlib import Path
from mergetool._lock import lock_folder
lock = lock_folder(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process holding tmp_path's lock for up to 60 s (killed at the end of the test)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path), "60"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_second_locker_fails_at_once_naming_folder_and_holder(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    started = time.monotonic()
    with pytest.raises(FolderLocked) as err:
        lock_folder(tmp_path)
    assert time.monotonic() - started < 1
    assert err.value.pid == holder.pid
    assert err.value.message == f"{tmp_path} is locked by process {holder.pid}"
    assert err.value.exit_code == 1
    assert (tmp_path / LOCK_FILE).read_text() == f"{holder.pid}\n"


def test_killed_holder_never_blocks(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with lock_folder(tmp_path) as lock:
        assert lock.held
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    assert list(tmp_path.iterdir()) == []  # a clean release leaves the folder as found


def test_wait_mode_gets_the_lock_once_the_holder_exits(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path), "0.3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        with FolderLock(tmp_path, wait=True, timeout_s=20) as lock:
            assert lock.held
    finally:
        proc.kill()
        proc.wait()


def test_wait_mode_gives_up_after_its_timeout(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(FolderLocked):
        FolderLock(tmp_path, wait=True, timeout_s=0.2).acquire()


def test_two_locks_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    with lock_folder(tmp_path), pytest.raises(FolderLocked):
        lock_folder(tmp_path)
    with lock_folder(tmp_path):  # released on leaving the block
        pass


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    from mergetool._exceptions import MergetoolError

    with pytest.raises(MergetoolError, match=f"cannot lock {tmp_path / 'nope'}: No such file"):
        lock_folder(tmp_path / "nope")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a folder to nobody")
def test_lock_file_takes_the_folders_owner_under_sudo(tmp_path: Path) -> None:
    import grp
    import pwd

    uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    folder = tmp_path / "node"
    folder.mkdir()
    os.chown(folder, uid, gid)
    with lock_folder(folder):
        info = os.stat(folder / LOCK_FILE)
        assert (info.st_uid, info.st_gid) == (uid, gid)
