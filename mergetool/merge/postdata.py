"""``--post-data``: tie PoST data folders to the identities of the merged node."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mergetool._exceptions import MetadataError, PostDataMismatch
from mergetool.merge.model import PostDataLink, ReportWarning
from mergetool.postdata.metadata import METADATA_FILE, read_metadata


def read_node_id(directory: Path) -> bytes:
    """The ``NodeId`` of a PoST data folder's metadata, refusing anything unreadable."""
    try:
        return read_metadata(Path(directory)).node_id
    except MetadataError as exc:
        raise PostDataMismatch(
            exc.message,
            hint=f"Is {directory} a PoST data folder? It must hold the {METADATA_FILE} that "
            "post init (or postcli) wrote.",
        ) from exc


def link_post_data(
    directories: Sequence[Path], identities: Mapping[bytes, str]
) -> tuple[tuple[PostDataLink, ...], list[ReportWarning]]:
    """Map each folder to an identity of the merged node (node id -> key file name)."""
    if not directories:
        return (), []
    links = []
    for directory in directories:
        node_id = read_node_id(Path(directory))
        name = identities.get(node_id)
        if name is None:
            raise PostDataMismatch(
                f"{directory / METADATA_FILE}: node id {node_id.hex()} belongs to no identity "
                "of the merged node",
                hint="Each PoST data folder must have its identity's key in the source or target.",
            )
        links.append(PostDataLink(Path(directory), node_id.hex(), name))
    covered = {bytes.fromhex(link.node_id) for link in links}
    warnings = [
        ReportWarning("no_post_data", f"{name} ({node_id.hex()}) has no PoST data folder listed")
        for node_id, name in sorted(identities.items(), key=lambda kv: kv[1])
        if node_id not in covered
    ]
    return tuple(links), warnings
