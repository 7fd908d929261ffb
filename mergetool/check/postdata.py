"""Identities and their PoST data folders: one folder per key, complete, with the layout
and commitment the node expects.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mergetool._exceptions import InvalidKeyFile, MetadataError
from mergetool.check.findings import Finding, error, warning
from mergetool.node import sqlite as sq
from mergetool.node.folder import NodeFolder
from mergetool.node.keys import load_key
from mergetool.node.wal import open_image
from mergetool.post.params import PostParams
from mergetool.postdata.metadata import (
    IDENTITY_FILE,
    METADATA_FILE,
    PostMetadata,
    read_metadata,
)

if TYPE_CHECKING:
    from mergetool.post.fitness import DataProblem


def read_commitments(folder: NodeFolder) -> dict[bytes, bytes]:
    """Node id -> ``commit_atx`` of its initial post (table ``post``, ``initial_post`` <= v7)."""
    if not folder.db_path.exists():
        return {}
    conn = open_image(folder.db_path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        table = "post" if "post" in tables else "initial_post" if "initial_post" in tables else None
        if table is None:
            return {}
        rows = conn.execute(f'SELECT id, commit_atx FROM "{table}"').fetchall()
    except sqlite3.DatabaseError as exc:
        raise sq.translate(folder.db_path, exc) from exc
    finally:
        conn.close()
    return {bytes(node_id): bytes(atx) for node_id, atx in rows if atx is not None}


@dataclass(frozen=True)
class Expected:
    """What the node and the network expect of its PoST data folders."""

    params: PostParams
    preset: str
    #: node id -> the key file holding it
    keys: Mapping[bytes, Path]
    #: node id -> commitment ATX of its initial post (see :func:`read_commitments`)
    commitments: Mapping[bytes, bytes]


def _folder_findings(directory: Path, meta: PostMetadata, expected: Expected) -> list[Finding]:
    from mergetool.post.fitness import data_problems  # (numpy: only when a folder is checked)

    found: list[Finding] = []
    meta_path = directory / METADATA_FILE
    node_hex = meta.node_id.hex()
    for problem in data_problems(directory, meta, expected.params, network=expected.preset):
        found.append(error(problem.code, _advice(problem, meta_path), _blame(problem, directory)))
    key_path = expected.keys.get(meta.node_id)
    if key_path is None:
        has_key = (directory / IDENTITY_FILE).exists()
        install = (
            f" Its {IDENTITY_FILE} is in the folder: install it with `mergetool add-identity "
            f"--post-dir {directory} --to NODE_DIR` if this identity belongs to this node."
            if has_key
            else " Install its key if it belongs to this node, or leave the folder out."
        )
        found.append(
            error(
                "post_dir_orphan",
                f"{meta_path}: node id {node_hex} has no key in identities/: a service for it "
                f"would never be asked for a proof.{install}",
                meta_path,
            )
        )
    committed = expected.commitments.get(meta.node_id)
    if committed is not None and committed != meta.commitment_atx_id:
        found.append(
            error(
                "commitment_mismatch",
                f"{meta_path}: CommitmentAtxId {meta.commitment_atx_id.hex()} differs from "
                f"{committed.hex()} in the node's initial post for {node_hex}: the node would "
                "reject this data. Use the data folder this identity was initialized with.",
                meta_path,
            )
        )
    stray = directory / IDENTITY_FILE
    if key_path is not None and stray.exists():
        try:
            same = load_key(stray).node_id == meta.node_id
        except InvalidKeyFile:
            same = False
        what = "a second copy of the private key in" if same else "a key file next to"
        found.append(
            warning(
                "stray_identity_key",
                f"{stray} is {what} {key_path}: after checking that {key_path.name} is "
                f"installed and backed up, remove {stray} (a stray copy of a key can end up "
                "running on a second node).",
                stray,
            )
        )
    return found


_CONSEQUENCE = {
    "num_units_out_of_range": "the node rejects its proofs. Initialize the data again with a "
    "number of units in range.",
    "labels_per_unit_mismatch": "this data cannot prove on that network.",
    "post_data_incomplete": "finish it (`mergetool post init` or postcli on this folder) before "
    "its service is started.",
}


def _advice(problem: DataProblem, meta_path: Path) -> str:
    if problem.files:
        return (
            f"{problem.fact}, although the metadata says initialization finished: "
            "restore the file, or move it aside and re-run `mergetool post init`."
        )
    return f"{meta_path}: {problem.fact}: {_CONSEQUENCE[problem.code]}"


def _blame(problem: DataProblem, directory: Path) -> Path:
    return directory if problem.files else directory / METADATA_FILE


def _unique(directories: Sequence[Path]) -> list[Path]:
    """The folders in order, each once (a folder given twice is one folder, not two)."""
    seen: set[Path] = set()
    unique = []
    for directory in map(Path, directories):
        if directory.resolve() not in seen:
            seen.add(directory.resolve())
            unique.append(directory)
    return unique


def check_post_dirs(directories: Sequence[Path], expected: Expected) -> list[Finding]:
    """Findings for the PoST data ``directories`` against what the node ``expected``."""
    found: list[Finding] = []
    by_id: dict[bytes, list[Path]] = {}
    for directory in _unique(directories):
        if not directory.is_dir():
            what = "not a directory" if directory.exists() else "does not exist"
            found.append(
                error(
                    "post_dir_invalid",
                    f"{directory}: {what}; give each PoST data folder with --dir.",
                    directory,
                )
            )
            continue
        try:
            meta = read_metadata(directory)
        except MetadataError as exc:
            found.append(
                error(
                    "post_metadata_invalid", str(exc).replace("\n", " "), directory / METADATA_FILE
                )
            )
            continue
        by_id.setdefault(meta.node_id, []).append(directory)
        found += _folder_findings(directory, meta, expected)
    for node_id, dirs in by_id.items():
        if len(dirs) > 1:
            found.append(
                error(
                    "post_dir_duplicate",
                    f"{' and '.join(map(str, dirs))} are data for the same identity "
                    f"{node_id.hex()}: "
                    "run one service for it only (the node refuses a second one; on two nodes it "
                    "is equivocation). Keep one folder.",
                    dirs[1],
                )
            )
    for node_id, key_path in expected.keys.items():
        if node_id not in by_id:
            found.append(
                error(
                    "post_dir_missing",
                    f"{key_path} ({node_id.hex()}) has no PoST data folder among --dir: the "
                    "identity cannot prove. Add its folder with --dir, or initialize one.",
                    key_path,
                )
            )
    return found
