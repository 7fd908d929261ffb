"""Add a new identity made by ``postcli`` (``DIR/identity.key``) to a node, safely."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import (
    DuplicateIdentity,
    MergeFailed,
    MergeRefused,
    MergetoolError,
    NameCollision,
    NotANodeFolder,
    PostDataMismatch,
    SupervisedNode,
    UsageProblem,
)
from mergetool._fs import check_can_own, fsync_dir
from mergetool.merge.checks import check_node_or_new_folder
from mergetool.merge.postdata import read_node_id
from mergetool.node.folder import KEY_SUFFIX, SUPERVISED_KEY, open_folder
from mergetool.node.keys import load_key, write_key
from mergetool.node.state import load_keys, read_node
from mergetool.node.versions import check_supported
from mergetool.postdata.metadata import IDENTITY_FILE, METADATA_FILE, read_metadata


@dataclass(frozen=True)
class AddIdentityPlan:
    """Which key goes where: made by :func:`plan_add_identity`, done by :func:`add_identity`."""

    key_file: Path
    target_file: Path
    node_id: str
    #: leave ``key_file`` in the PoST folder (else it is removed once the copy is safe on disk)
    keep_copy: bool = False

    def to_dict(self, *, installed: bool) -> dict[str, object]:
        """The JSON form (``add-identity --json``): the plan, and whether it was carried out."""
        return {
            "format": 1,  # schemas/json/add-identity.schema.json
            "file": str(self.target_file),
            "node_id": self.node_id,
            "installed": installed,
            "moved": not self.keep_copy,
        }


#: A plain file name: ASCII letters, digits, '.', '_', '-', not hidden (no leading '.').
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", re.ASCII)
#: Most file systems allow 255 bytes per name; the staged/temporary names add a suffix.
_MAX_NAME = 200


def _file_name(name: str | None, node_id_hex: str) -> str:
    """The key's file name in identities/: ``<name>.key`` for a plain ``name``, else refused."""
    if name is None:
        return f"{node_id_hex}{KEY_SUFFIX}"
    file_name = name if name.endswith(KEY_SUFFIX) else name + KEY_SUFFIX
    if (
        not _PLAIN_NAME.fullmatch(file_name)
        or len(file_name) > _MAX_NAME
        or file_name == SUPERVISED_KEY
    ):
        raise UsageProblem(
            f"`name` {name!r}: not usable as an identity file name",
            hint="Use a plain name of letters, digits, '.', '_' and '-' such as 'post-3' "
            "(no path, no spaces, not 'local', not starting with '.').",
            parameter="name",
        )
    return file_name


def plan_add_identity(
    post_dir: Path, node: Path, name: str | None = None, *, keep_copy: bool = False
) -> AddIdentityPlan:
    """Check ``post_dir/identity.key`` against its metadata and the node; write nothing.

    The key is moved (``keep_copy=False``): a second copy beside the PoST data is one more
    place the identity can be started from twice.
    """
    _file_name(name, "")  # bad usage is refused before anything is read
    key_path = Path(post_dir) / IDENTITY_FILE
    if not key_path.exists():
        raise NotANodeFolder(key_path, "not found", hint=_missing_key_hint(Path(post_dir), node))
    key = load_key(key_path)
    meta_id = read_node_id(Path(post_dir))
    if meta_id != key.node_id:
        raise PostDataMismatch(
            f"{key_path} holds identity {key.node_id_hex} but {Path(post_dir) / METADATA_FILE} "
            f"belongs to {meta_id.hex()}",
            hint="This key did not initialise this PoST data; find the matching identity.key.",
        )
    folder = open_folder(node, must_exist=False, side="target")
    if not folder.root.is_dir():
        raise NotANodeFolder(
            folder.root,
            "target data folder does not exist",
            hint="Check the path: it is the node's data folder (its --data-folder, e.g. "
            f"./node_data). For a node that has never run yet, create it first: "
            f"mkdir -p '{folder.root}', then run the same command again.",
        )
    check_node_or_new_folder(folder)
    check_can_own(folder.root, folder.identities_dir)
    if not keep_copy and not os.access(key_path.parent, os.W_OK | os.X_OK):
        raise MergeRefused(
            f"{key_path.parent}: this user may not remove {IDENTITY_FILE} from this folder",
            hint="Nothing was changed. Make the folder writable, or keep the original with "
            "`keep_copy=True` (then delete it yourself once the node runs the identity).",
            parameter="keep_copy",
        )
    if folder.db_path.exists():  # the node must be able to open it: refuse junk, 1.3.x, too new
        check_supported(read_node(folder).version, folder.db_path, "target database")
    if folder.supervised_key.exists():
        raise SupervisedNode(folder.supervised_key, "target")
    target = folder.identities_dir / _file_name(name, key.node_id_hex)
    for entry in load_keys(folder):
        if entry.key is not None and entry.key.node_id == key.node_id:
            raise DuplicateIdentity(key_path, entry.file.path, key.node_id_hex)
    if target.exists() or target.is_symlink():
        raise NameCollision(
            [target.name], folder.identities_dir, hint="Choose another file name with `name`."
        )
    return AddIdentityPlan(key_path, target, key.node_id_hex, keep_copy)


def _missing_key_hint(post_dir: Path, node: Path) -> str:
    """Where the key went when an earlier ``add-identity`` already moved it into ``node``."""
    plain = "postcli writes identity.key into the PoST data folder."
    try:
        node_id = read_metadata(post_dir).node_id
        entries = load_keys(open_folder(node, must_exist=False, side="target"))
    except (MergetoolError, OSError):
        return plain
    for entry in entries:
        if entry.key is not None and entry.key.node_id == node_id:
            return (
                f"Its identity {node_id.hex()} is already installed as {entry.file.path} "
                "(add-identity moves the key): nothing to do."
            )
    return plain


def execute_add_identity(plan: AddIdentityPlan) -> Path:
    """Install the key as planned (mode 0600, atomically), then remove the original unless
    the plan keeps a copy; return its path. All or nothing: a failure removes what was
    installed and leaves the original where it was."""
    key = load_key(plan.key_file)
    if plan.target_file.exists():
        raise NameCollision(
            [plan.target_file.name],
            plan.target_file.parent,
            hint="Choose another file name with `name`.",
        )
    try:
        write_key(key, plan.target_file)
    except OSError as exc:
        raise MergeFailed(
            f"{exc.filename or plan.target_file}: {exc.strerror or exc}; nothing was installed"
        ) from exc
    if not plan.keep_copy:
        _remove_original(plan)
    return plan.target_file


def _remove_original(plan: AddIdentityPlan) -> None:
    """Remove ``identity.key`` now that its copy is on disk; undo the install if that fails."""
    try:
        plan.key_file.unlink()
        fsync_dir(plan.key_file.parent)
    except OSError as exc:
        if plan.key_file.exists():  # still there: take the copy back, as if nothing happened
            plan.target_file.unlink(missing_ok=True)
            fsync_dir(plan.target_file.parent)
            raise MergeFailed(
                f"{plan.key_file}: cannot remove it ({exc.strerror or exc}); nothing was installed",
                hint="Make its folder writable, or keep the original with `keep_copy=True`.",
                parameter="keep_copy",
            ) from exc
        raise MergeFailed(  # removed, only the fsync of its folder failed: the key is installed
            f"{plan.key_file.parent}: {exc.strerror or exc} after moving the key to "
            f"{plan.target_file}",
            hint="The key is installed; check that the PoST folder's disk is healthy.",
        ) from exc


#: The name before plan/execute pairs were named alike (``plan_add_identity``/``execute_…``).
add_identity = execute_add_identity
