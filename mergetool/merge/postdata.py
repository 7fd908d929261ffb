"""``--post-data``: tie PoST data folders to the identities of the merged node."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from mergetool._exceptions import PostDataMismatch
from mergetool.merge.model import Finding, PostDataLink
from mergetool.post.metadata import METADATA_FILE


def read_node_id(directory: Path) -> bytes:
    """The ``NodeId`` of a PoST data folder's metadata, refusing anything unreadable."""
    path = directory / METADATA_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise PostDataMismatch(f"{path}: not found; is {directory} a PoST data folder?") from exc
    except OSError as exc:
        raise PostDataMismatch(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise PostDataMismatch(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or "NodeId" not in meta:
        raise PostDataMismatch(f"{path}: no NodeId field")
    try:
        node_id = base64.b64decode(meta["NodeId"], validate=True)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise PostDataMismatch(f"{path}: NodeId is not base64: {meta['NodeId']!r}") from exc
    if len(node_id) != 32:
        raise PostDataMismatch(f"{path}: NodeId is {len(node_id)} bytes, expected 32")
    return node_id


def link_post_data(
    directories: Sequence[Path], identities: Mapping[bytes, str]
) -> tuple[tuple[PostDataLink, ...], list[Finding]]:
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
        Finding("no_post_data", f"{name} ({node_id.hex()}) has no PoST data folder listed")
        for node_id, name in sorted(identities.items(), key=lambda kv: kv[1])
        if node_id not in covered
    ]
    return tuple(links), warnings
