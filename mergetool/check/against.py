"""Equivocation across machines: an identity on this node and on another one
(``--against``: another node's ``mergetool inspect --json``, made there and copied over).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from mergetool._exceptions import InvalidInputFile
from mergetool._fs import read_regular_file
from mergetool.check.findings import Finding, error

_MAX_REPORT_BYTES = 64 << 20
_CODE = "against_invalid"


def read_identities(path: Path) -> tuple[str, dict[bytes, str]]:
    """(node folder named in the report, node id -> key file name) of an inspect report."""
    try:
        raw = read_regular_file(Path(path), _MAX_REPORT_BYTES)
    except OSError as exc:
        raise InvalidInputFile(path, f"cannot read it ({exc.strerror or exc})", code=_CODE) from exc
    if len(raw) > _MAX_REPORT_BYTES:
        raise InvalidInputFile(path, "far too large for an inspect report", code=_CODE)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputFile(
            path, f"not valid JSON ({exc.msg})", line=exc.lineno, column=exc.colno, code=_CODE
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidInputFile(path, "not valid JSON", code=_CODE) from exc
    idents = doc.get("identities") if isinstance(doc, dict) else None
    if not isinstance(idents, list) or not all(isinstance(i, dict) for i in idents):
        raise InvalidInputFile(
            path, 'not a `mergetool inspect --json` report (no "identities" list)', code=_CODE
        )
    found: dict[bytes, str] = {}
    for entry in idents:
        node_id, name = entry.get("node_id"), entry.get("file")
        if node_id is None:
            continue  # a key file the other node cannot read either
        try:
            raw_id = bytes.fromhex(node_id) if isinstance(node_id, str) else b""
        except ValueError:
            raw_id = b""
        if len(raw_id) != 32:
            raise InvalidInputFile(path, f"node_id {node_id!r} is not 64 hex digits", code=_CODE)
        found.setdefault(raw_id, str(name))
    return str(doc.get("path") or "the other node"), found


def check_against(keys: Mapping[bytes, Path], reports: Sequence[Path]) -> list[Finding]:
    """An error for every identity of this node (``keys``: id -> key file) or of the reports
    that is on two nodes, naming both files."""
    found: list[Finding] = []
    seen: dict[bytes, str] = {node_id: str(path) for node_id, path in keys.items()}
    # A file given twice is one other node, not two nodes sharing every identity.
    unique: dict[Path, Path] = {}
    for given in map(Path, reports):
        unique.setdefault(given.resolve(), given)
    for report in unique.values():
        try:
            other_dir, identities = read_identities(report)
        except InvalidInputFile as exc:
            found.append(
                error(
                    exc.code,
                    f"{exc.message}; make it on the other machine with "
                    "`mergetool inspect --json NODE_DIR > FILE`.",
                    report,
                )
            )
            continue
        for node_id, name in identities.items():
            where = f"{other_dir}/identities/{name} (listed in {report})"
            first = seen.setdefault(node_id, where)
            if first == where:
                continue
            found.append(
                error(
                    "equivocation",
                    f"identity {node_id.hex()} is on two nodes: {first} and {where}. "
                    "The same identity must never run on two nodes (it is banned for good): "
                    "remove its key from one of them before either smeshes again.",
                    report,
                )
            )
    return found
