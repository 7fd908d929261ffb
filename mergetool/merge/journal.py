"""The merge journal: what an interrupted merge had staged, so the next run can finish or undo it.

Keys are staged under names the node ignores (``<name>.key.mergetool-staged``), the database
changes in one SQLite transaction, and only then are the staged keys renamed into place. The
journal, written before the first staged byte, lists those names: after a crash the next run
rolls forward when the transaction committed and back when it did not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import MergeFailed
from mergetool.node.keys import fsync_dir, write_file_atomic

JOURNAL_NAME = ".mergetool-journal.json"
STAGED_SUFFIX = ".mergetool-staged"


@dataclass(frozen=True)
class StagedKey:
    final: str
    node_id: str

    @property
    def staged(self) -> str:
        return self.final + STAGED_SUFFIX


@dataclass(frozen=True)
class Journal:
    path: Path
    source: str
    node_ids: tuple[str, ...]
    expected_rows: int
    keys: tuple[StagedKey, ...]

    def write(self) -> None:
        data = {
            "format": 1,
            "source": self.source,
            "node_ids": list(self.node_ids),
            "expected_rows": self.expected_rows,
            "keys": [{"final": k.final, "node_id": k.node_id} for k in self.keys],
        }
        write_file_atomic(self.path, json.dumps(data, indent=1).encode())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        fsync_dir(self.path.parent)


def journal_path(target: Path) -> Path:
    return target / JOURNAL_NAME


def read_journal(target: Path) -> Journal | None:
    path = journal_path(target)
    try:
        data = json.loads(path.read_text())
        return Journal(
            path=path,
            source=str(data["source"]),
            node_ids=tuple(data["node_ids"]),
            expected_rows=int(data["expected_rows"]),
            keys=tuple(StagedKey(k["final"], k["node_id"]) for k in data["keys"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MergeFailed(
            f"{path}: the journal of an interrupted merge cannot be read ({exc})",
            hint="Restore the target from its latest backup with 'mergetool restore', "
            "or remove the journal after checking identities/ by hand.",
        ) from exc
