"""Add a new identity made by ``postcli`` (``DIR/identity.key``) to a node, safely."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import (
    DuplicateIdentity,
    MergeFailed,
    NameCollision,
    NotANodeFolder,
    PostDataMismatch,
    SupervisedNode,
)
from mergetool.merge.plan import check_node_or_new_folder
from mergetool.merge.postdata import read_node_id
from mergetool.node.folder import KEY_SUFFIX, SUPERVISED_KEY, open_folder
from mergetool.node.keys import load_key, write_key
from mergetool.node.state import load_keys, read_node
from mergetool.node.versions import check_supported
from mergetool.post.metadata import IDENTITY_FILE, METADATA_FILE


@dataclass(frozen=True)
class AddIdentityPlan:
    """Which key goes where: made by :func:`plan_add_identity`, done by :func:`add_identity`."""

    key_file: Path
    target_file: Path
    node_id: str


def _file_name(name: str | None, node_id_hex: str) -> str:
    if name is None:
        return f"{node_id_hex}{KEY_SUFFIX}"
    if not name.endswith(KEY_SUFFIX):
        name += KEY_SUFFIX
    if "/" in name or "\\" in name or name.startswith(".") or name == SUPERVISED_KEY:
        raise NotANodeFolder(
            Path(name),
            "not usable as an identity file name",
            hint="Use a plain name such as 'post-3' (no path, not 'local', not hidden).",
        )
    return name


def plan_add_identity(post_dir: Path, node: Path, name: str | None = None) -> AddIdentityPlan:
    """Check ``post_dir/identity.key`` against its metadata and the node; write nothing."""
    key_path = Path(post_dir) / IDENTITY_FILE
    if not key_path.exists():
        raise NotANodeFolder(
            key_path, "not found", hint="postcli writes identity.key into the PoST data folder."
        )
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
        raise NotANodeFolder(folder.root, "target data folder does not exist")
    check_node_or_new_folder(folder)
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
            [target.name], folder.identities_dir, hint="Choose another file name with --name."
        )
    return AddIdentityPlan(key_path, target, key.node_id_hex)


def add_identity(plan: AddIdentityPlan) -> Path:
    """Install the key as planned (mode 0600, atomically); return its path."""
    key = load_key(plan.key_file)
    if plan.target_file.exists():
        raise NameCollision(
            [plan.target_file.name],
            plan.target_file.parent,
            hint="Choose another file name with --name.",
        )
    try:
        write_key(key, plan.target_file)
    except OSError as exc:
        raise MergeFailed(
            f"{exc.filename or plan.target_file}: {exc.strerror or exc}; nothing was installed"
        ) from exc
    return plan.target_file
