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
from mergetool._fs import fsync_dir, write_file_atomic
from mergetool.merge.retire import is_retired_folder_name
from mergetool.node.folder import JOURNAL_NAME, KEY_SUFFIX, STAGED_SUFFIX
from mergetool.node.keys import HEX_DIGITS

__all__ = ["JOURNAL_NAME", "STAGED_SUFFIX", "Journal", "StagedKey", "journal_path", "read_journal"]


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
    #: ``--retire-source``: the sub-folder of the source's identities/ the merged keys move
    #: into after the commit, and ``(file name, node id)`` of each
    retire_folder: str | None = None
    retire: tuple[tuple[str, str], ...] = ()

    def write(self) -> None:
        data = {
            "format": 1,
            "source": self.source,
            "node_ids": list(self.node_ids),
            "expected_rows": self.expected_rows,
            "keys": [{"final": k.final, "node_id": k.node_id} for k in self.keys],
        }
        if self.retire:
            data["retire"] = {
                "folder": self.retire_folder,
                "keys": [{"name": name, "node_id": node_id} for name, node_id in self.retire],
            }
        write_file_atomic(self.path, json.dumps(data, indent=1).encode())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        fsync_dir(self.path.parent)


def journal_path(target: Path) -> Path:
    return target / JOURNAL_NAME


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _node_id(value: object, what: str) -> str:
    if not (isinstance(value, str) and len(value) == 64 and set(value) <= HEX_DIGITS):
        raise ValueError(f"{what} is {_show(value)}, not a node id of 64 hex characters")
    return value.lower()


def _key_name(value: object) -> str:
    """A plain ``<name>.key`` in identities/: the journal must never name a path elsewhere."""
    if not (
        isinstance(value, str)
        and value.endswith(KEY_SUFFIX)
        and len(value) > len(KEY_SUFFIX)
        and "/" not in value
        and "\0" not in value
    ):
        raise ValueError(f"key file name {_show(value)} is not a plain <name>.key")
    return value


def _retire(data: dict[str, object]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The optional retire section: a ``merged-*`` folder name and plain key names only."""
    section = data.get("retire")
    if section is None:
        return None, ()
    if not isinstance(section, dict):
        raise ValueError(f"retire is {_show(section)}, not an object")
    folder = section["folder"]
    if not (isinstance(folder, str) and is_retired_folder_name(folder)):
        raise ValueError(f"retire folder {_show(folder)} is not a merged-<UTC timestamp> name")
    keys = []
    for entry in _list(section, "keys"):
        if not isinstance(entry, dict):
            raise ValueError(f"retire entry {_show(entry)} is not an object")
        keys.append((_key_name(entry["name"]), _node_id(entry["node_id"], "node_id")))
    return folder, tuple(keys)


def _list(data: dict[str, object], field: str) -> list[object]:
    value = data[field]
    if not isinstance(value, list):
        raise ValueError(f"{field} is {type(value).__name__}, not a list")
    return value


def _parse(path: Path, data: object) -> Journal:
    """Check every field's type and shape: a damaged journal must not drive a recovery."""
    if not isinstance(data, dict):
        raise ValueError(f"it holds a {type(data).__name__}, not an object")
    source, rows = data["source"], data["expected_rows"]
    if not isinstance(source, str):
        raise ValueError(f"source is {_show(source)}, not a path")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise ValueError(f"expected_rows is {_show(rows)}, not a count")
    keys = []
    for entry in _list(data, "keys"):
        if not isinstance(entry, dict):
            raise ValueError(f"key entry {_show(entry)} is not an object")
        keys.append(StagedKey(_key_name(entry["final"]), _node_id(entry["node_id"], "node_id")))
    retire_folder, retire = _retire(data)
    return Journal(
        path=path,
        source=source,
        node_ids=tuple(_node_id(n, "an entry of node_ids") for n in _list(data, "node_ids")),
        expected_rows=rows,
        keys=tuple(keys),
        retire_folder=retire_folder,
        retire=retire,
    )


def read_journal(target: Path) -> Journal | None:
    path = journal_path(target)
    try:
        return _parse(path, json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except KeyError as exc:
        raise _unreadable(path, f"{exc.args[0]!r} is missing") from exc
    except (OSError, ValueError) as exc:
        raise _unreadable(path, str(exc)) from exc


def _unreadable(path: Path, reason: str) -> MergeFailed:
    return MergeFailed(
        f"{path}: the journal of an interrupted merge cannot be read ({reason})",
        hint="Restore the target from its latest backup with 'mergetool restore', which "
        "sets this journal and any staged keys (*.mergetool-staged) aside; or check "
        "identities/ by hand and remove the journal.",
    )
