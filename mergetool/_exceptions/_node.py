"""Errors of a node data folder: its keys, its database, its schema version."""

from __future__ import annotations

from pathlib import Path

from mergetool._exceptions._base import MergetoolError


class NodeDataError(MergetoolError):
    """Something is wrong with a node data folder."""


class NotANodeFolder(NodeDataError):
    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class InvalidKeyFile(NodeDataError):
    """A key file the node would refuse to load."""

    def __init__(self, path: Path, reason: str) -> None:
        if "symbolic link" in reason:
            hint = "Put the key file itself in identities/: key files are never read through links."
        elif "cannot read" in reason or "regular file" in reason:
            hint = None
        else:
            hint = "A key file holds exactly 128 hex characters (seed + public key), nothing else."
        super().__init__(f"not a valid key file {path}: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class DuplicateIdentity(NodeDataError):
    """The same public key under two file names: the node refuses it, or it equivocates."""

    def __init__(self, first: Path, second: Path, node_id: str) -> None:
        super().__init__(
            f"{first} and {second} hold the same identity {node_id} (the node refuses to "
            'start: "duplicate key found in identity files")',
            hint="Running one identity twice is equivocation and gets it banned for good; "
            "keep exactly one of these files.",
        )
        self.first = first
        self.second = second
        self.node_id = node_id


class SupervisedNode(NodeDataError):
    def __init__(self, key_path: Path, side: str, *, adoptable: bool = False) -> None:
        hint = (
            "Convert it to remote smeshing first: rename local.key to a unique name ending in .key."
        )
        if adoptable:
            hint += " Or pass `adopt_supervised=True` to install it as <node id>.key in the target."
        super().__init__(
            f"{side} {key_path.parent.parent} appears to be a supervised node ({key_path} exists)",
            hint=hint,
        )
        self.path = key_path
        self.side = side


class DatabaseError(NodeDataError):
    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class DatabaseInUse(DatabaseError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            path,
            f"the database is in use ({detail})",
            hint="Stop the node (and any other program using it) first, then try again.",
        )


class SchemaDrift(DatabaseError):
    def __init__(self, path: Path, version: int, diff: str) -> None:
        super().__init__(
            path,
            f"schema differs from what the node expects at version {version}",
            hint=f"{diff}\nThe node would refuse to start on it, and a merge must not write "
            "into it: restore the database from a backup (mergetool restore, if merge-nodes "
            "made one) or let the node release that wrote it repair it. Nothing was changed.",
        )
        self.version = version
        self.diff = diff


class UnsupportedVersion(NodeDataError):
    def __init__(self, path: Path, version: int, reason: str, *, hint: str | None = None):
        super().__init__(f"{path}: {reason} (user_version {version})", hint=hint)
        self.path = path
        self.version = version
        self.reason = reason
