"""Helpers for CLI tests."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from mergetool.node.keys import IdentityKey


def post_dir(root: Path, key: IdentityKey, metadata_for: IdentityKey | None = None) -> Path:
    """A PoST data folder as postcli leaves it: identity.key and metadata (of another key with
    ``metadata_for``)."""
    root.mkdir()
    node_id = (metadata_for or key).node_id
    meta = {
        "NodeId": base64.b64encode(node_id).decode(),
        "CommitmentAtxId": base64.b64encode(bytes(32)).decode(),
        "LabelsPerUnit": 1024,
        "NumUnits": 4,
        "MaxFileSize": 4096,
        "Nonce": 3,
        "LastPosition": 10,
    }
    (root / "postdata_metadata.json").write_text(json.dumps(meta))
    (root / "identity.key").write_bytes(key.to_file_bytes())
    return root
