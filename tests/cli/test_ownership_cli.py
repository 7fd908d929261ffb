"""Run as root against a node owned by its own user: every file written keeps that owner.

And where that is impossible (not root, a folder owned by another user) the write is refused
before anything happens. The node user here is ``nobody:nogroup``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool.cli.main import cli
from mergetool.node.fixtures import FixtureNode, build_node, test_key
from tests.postdata_helpers import post_folder

NOBODY, NOGROUP = 65534, 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand files to nobody")


def run(*args: object) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for path in root.rglob("*"):
        os.chown(path, uid, gid, follow_symlinks=False)


def owners(root: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``root`` (itself included) whose owner is not nobody:nogroup."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if (info.st_uid, info.st_gid) != (NOBODY, NOGROUP):
            found[str(path.relative_to(root))] = (info.st_uid, info.st_gid)
    return found


def tree_state(root: Path) -> dict[str, tuple[int, int, int, bytes | None]]:
    """Every entry with its mode, owner and content: equal before and after = nothing written."""
    found = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        found[str(path)] = (info.st_mode, info.st_uid, info.st_gid, data)
    return found


def private_modes(root: Path) -> list[str]:
    """Entries we made that are not 0600 (files) / 0700 (folders)."""
    wrong = []
    for path in root.rglob("*"):
        want = 0o700 if path.is_dir() else 0o600
        if stat.S_IMODE(path.lstat().st_mode) != want:
            wrong.append(str(path.relative_to(root)))
    return wrong


def post_dir(root: Path, seed: str) -> Path:
    """A PoST folder holding a new identity, as add-identity takes it."""
    return post_folder(root, test_key(seed))


@pytest.fixture
def dst(dst: FixtureNode) -> FixtureNode:
    """The shared target, given to the node's user (nobody), as a root-run merge finds it."""
    chown_tree(dst.folder.root, NOBODY, NOGROUP)
    return dst


def test_merge_then_restore_keep_the_node_users_files(src: FixtureNode, dst: FixtureNode) -> None:
    root = dst.folder.root
    merged = run("merge", "-f", src.folder.root, "-t", root)
    assert merged.exit_code == 0, merged.output
    assert sorted(p.name for p in dst.folder.identities_dir.iterdir()) == [
        "d1.key",
        "s1.key",
        "s2.key",
    ]
    assert list((root / "backups").iterdir())  # the backup is the node user's too
    assert owners(root) == {}
    assert private_modes(root / "identities") == []
    assert private_modes(root / "backups") == []

    restored = run("restore", root)
    assert restored.exit_code == 0, restored.output
    assert (root / "local.sql").exists()
    assert owners(root) == {}
    assert private_modes(root / "identities") == []


def test_a_new_target_path_belongs_to_the_owner_of_its_parent(
    src: FixtureNode, tmp_path: Path
) -> None:
    parent = tmp_path / "home"
    parent.mkdir()
    os.chown(parent, NOBODY, NOGROUP)
    target = parent / "a" / "node"

    result = run("merge", "-f", src.folder.root, "-t", target)

    assert result.exit_code == 0, result.output
    assert owners(parent) == {}
    assert stat.S_IMODE((parent / "a").stat().st_mode) == 0o700


def test_add_identity_and_retire_source_keep_owners(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    chown_tree(src.folder.root, NOBODY, NOGROUP)
    result = run("merge", "-f", src.folder.root, "-t", dst.folder.root, "--retire-source")
    assert result.exit_code == 0, result.output
    assert list(src.folder.identities_dir.glob("merged-*/s1.key"))
    assert owners(src.folder.root) == {}

    post = post_dir(tmp_path / "post", "own-new")
    added = run("add-identity", "--post-dir", post, "--to", dst.folder.root, "--name", "new")
    assert added.exit_code == 0, added.output
    assert (dst.folder.identities_dir / "new.key").exists()
    assert owners(dst.folder.root) == {}


# --- not root, and the folder belongs to someone else: refused before writing ---------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder ``nobody`` can reach (pytest's own tmp_path is root's 0700)."""
    path = Path(tempfile.mkdtemp(prefix="mergetool-owner-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _as_nobody(code: str, *args: object) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed: cannot run as an unprivileged user")
    return subprocess.run(
        [setpriv, f"--reuid={NOBODY}", f"--regid={NOGROUP}", "--clear-groups"]
        + [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": "/nonexistent"},
    )


def as_nobody(*args: object) -> subprocess.CompletedProcess[str]:
    if _as_nobody("import mergetool").returncode != 0:
        # The checkout (or the virtual environment) lies below a folder only root may enter,
        # such as a 0700 `mktemp -d`: the unprivileged user cannot even import the package.
        pytest.skip("nobody cannot reach this checkout: cannot run as an unprivileged user")
    code = "import sys; from mergetool.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return _as_nobody(code, *args)


def open_to_all(root: Path) -> None:
    """Anyone may write: only ownership, not permission, stands in the way."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)


def test_refused_before_writing_when_the_owner_cannot_be_kept(shared_tmp: Path) -> None:
    src = build_node(shared_tmp / "src", identities=["s1"], prefix="own-r-s-")
    dst = build_node(shared_tmp / "dst", identities=["d1"], prefix="own-r-d-")
    chown_tree(src.folder.root, NOBODY, NOGROUP)
    other = build_node(shared_tmp / "other", identities=["o1"], prefix="own-r-o-")
    assert run("merge", "-f", other.folder.root, "-t", dst.folder.root).exit_code == 0  # a backup
    open_to_all(dst.folder.root)  # root's folder, writable by nobody
    before = tree_state(dst.folder.root)

    proc = as_nobody("merge", "-f", src.folder.root, "-t", dst.folder.root)

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert (
        f"Error: {dst.folder.root}: belongs to user 0, not to this user ({NOBODY}); files "
        "written there would not belong to the node's user and the node could not read them"
    ) in proc.stderr
    assert "Run mergetool as the folder's owner (e.g. sudo -u '#0' ...) or as root" in (proc.stderr)
    assert tree_state(dst.folder.root) == before

    restore = as_nobody("restore", dst.folder.root)
    assert restore.returncode == 1, restore.stdout + restore.stderr
    assert f"Error: {dst.folder.root}: belongs to user 0" in restore.stderr
    assert tree_state(dst.folder.root) == before

    post = post_dir(shared_tmp / "post", "own-r-new")
    added = as_nobody("add-identity", "--post-dir", post, "--to", dst.folder.root)
    assert added.returncode == 1, added.stdout + added.stderr
    assert f"Error: {dst.folder.root}: belongs to user 0" in added.stderr
    assert tree_state(dst.folder.root) == before


def test_a_target_folder_we_may_not_write_is_refused_by_the_plan(shared_tmp: Path) -> None:
    src = build_node(shared_tmp / "src", identities=["s1"], prefix="own-w-s-")
    dst = build_node(shared_tmp / "dst", identities=["d1"], prefix="own-w-d-")
    chown_tree(src.folder.root, NOBODY, NOGROUP)
    chown_tree(dst.folder.root, NOBODY, NOGROUP)
    identities = dst.folder.identities_dir
    for folder in (dst.folder.root, identities):
        folder.chmod(0o500)
        before = tree_state(dst.folder.root)
        for extra in (["--dry-run"], []):  # (a real run meets it when taking the lock)
            proc = as_nobody("merge", "-f", src.folder.root, "-t", dst.folder.root, *extra)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert "Traceback" not in proc.stderr
            assert (
                f"Error: {folder}: this user ({NOBODY}) may not create files in this folder (it "
                "is not writable, or on a read-only file system)"
            ) in proc.stderr
            hint = f"Nothing was changed. Make it writable by this user (e.g. chmod u+w '{folder}')"
            assert hint in proc.stderr
            assert "mergetool-tmp" not in proc.stderr
            assert tree_state(dst.folder.root) == before
        folder.chmod(0o700)
