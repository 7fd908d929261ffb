"""PoST data folders for tests, their metadata written by the library's own ``write_metadata``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mergetool.node.keys import IdentityKey
from mergetool.postdata.metadata import IDENTITY_FILE, PostMetadata, write_metadata


def write_post_metadata(folder: Path, node_id: bytes, **fields: object) -> Path:
    """``postdata_metadata.json`` for ``node_id`` in ``folder`` (made when missing): small,
    valid values, any :class:`PostMetadata` field replaced by ``fields``. Returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = PostMetadata(
        node_id=node_id,
        commitment_atx_id=bytes(32),
        labels_per_unit=1024,
        num_units=4,
        max_file_size=4096,
        nonce=3,
        last_position=10,
    )
    write_metadata(folder, replace(meta, **fields))  # type: ignore[arg-type]
    return folder


def post_folder(root: Path, key: IdentityKey, *, metadata_for: IdentityKey | None = None) -> Path:
    """A PoST data folder as postcli leaves it: identity.key beside the metadata (of another
    key with ``metadata_for``)."""
    write_post_metadata(root, (metadata_for or key).node_id)
    (root / IDENTITY_FILE).write_bytes(key.to_file_bytes())
    return root
