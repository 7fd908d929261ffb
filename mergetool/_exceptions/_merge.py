"""Errors of merge-nodes, add-identity and restore."""

from __future__ import annotations

from pathlib import Path

from mergetool._exceptions._base import MergetoolError


class MergeRefused(MergetoolError):
    """A check failed; nothing was written."""


class NameCollision(MergeRefused):
    def __init__(self, names: list[str], target: Path, *, hint: str | None = None) -> None:
        listed = ", ".join(names)
        what = (
            f"identity file {listed} already exists"
            if len(names) == 1
            else (f"identity files {listed} already exist")
        )
        super().__init__(
            f"{what} in {target}",
            hint=hint
            or "Rename the key file(s) in the source (keeping the .key extension) and retry.",
        )
        self.names = names


class RowsAlreadyPresent(MergeRefused):
    pass


class VersionMismatch(MergeRefused):
    pass


class PostDataMismatch(MergeRefused):
    pass


class MergeFailed(MergetoolError):
    """Writing failed part-way; the target was rolled back to its previous state."""


class RestoreError(MergetoolError):
    pass
