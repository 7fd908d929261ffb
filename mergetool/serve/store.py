"""Finished proofs on disk: written atomically before they are offered, read back on restart.

One JSON file per identity, ``<state dir>/<node id hex>.proof.json``, naming the data set it
was made from. A restart offers it without a new pass (post-rs keeps proofs only in memory);
the caller re-verifies it first and discards it when it is for another data set.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
from typing import Any

from mergetool._exceptions import ServeError
from mergetool._fs import NotRegularFile, read_regular_file, sweep_leftovers, write_file_atomic
from mergetool.serve.config import IdentityConfig
from mergetool.serve.state import Finished

_VERSION = 1
_MAX_BYTES = 1 << 20  # a proof file is under 1 KiB; anything far larger is not one
_YEAR_10000 = 253402300800.0


def _data_set(ident: IdentityConfig) -> dict[str, Any]:
    return {
        "node_id": ident.node_id.hex(),
        "commitment_atx_id": ident.commitment_atx_id.hex(),
        "num_units": ident.num_units,
        "labels_per_unit": ident.labels_per_unit,
        "vrf_nonce": ident.vrf_nonce,
    }


class ProofStore:
    """The proof file of one identity."""

    def __init__(self, ident: IdentityConfig) -> None:
        self.ident = ident
        self.path = ident.state_dir / f"{ident.node_id.hex()}.proof.json"

    def prepare(self) -> None:
        """Create the state folder now: one that cannot hold proofs is refused before any work."""
        folder = self.ident.state_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "not writable")
            # A kill -9 mid-save left a temporary file: the folder lock we hold says that no
            # other writer of this identity's proof file runs.
            sweep_leftovers(self.path, older_than_s=0)
        except OSError as exc:
            raise ServeError(
                f"cannot use the state folder {folder} of {self.ident.folder}: "
                f"{exc.strerror or exc}",
                hint="Finished proofs are kept there; give --state-dir a writable folder.",
            ) from exc

    def save(self, finished: Finished, *, delivered: bool = False) -> None:
        """Write (or replace) the proof file durably: a crash leaves the old file or the new."""
        doc = {
            "version": _VERSION,
            **_data_set(self.ident),
            "challenge": finished.challenge.hex(),
            "proof": finished.proof.to_dict(),
            "finished_at": finished.finished_at,
            "duration_s": finished.duration_s,
            "delivered": delivered,
        }
        try:
            self.ident.state_dir.mkdir(parents=True, exist_ok=True)
            write_file_atomic(
                self.path, json.dumps(doc, indent=2).encode(), mode=0o644, folder_owner=False
            )
        except OSError as exc:
            raise ServeError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def load(self) -> tuple[Finished, bool] | str | None:
        """``(proof, delivered)``; None when there is none; a reason string when it is unusable."""
        from mergetool._exceptions import InvalidProof
        from mergetool.post.proof import Proof

        try:
            raw = read_regular_file(self.path, _MAX_BYTES)  # never hangs on a FIFO or device
        except FileNotFoundError:
            return None
        except NotRegularFile as exc:
            return exc.strerror or str(exc)
        except OSError as exc:
            return f"unreadable ({exc.strerror or exc})"
        if len(raw) > _MAX_BYTES:
            return f"larger than {_MAX_BYTES} bytes: not a proof file"
        try:
            doc = json.loads(raw)
        except RecursionError:
            return "malformed (JSON nested too deeply)"
        except ValueError as exc:
            return f"unreadable ({exc})"
        if not isinstance(doc, dict) or doc.get("version") != _VERSION:
            return "not a proof file of this version"
        expected = _data_set(self.ident)
        differs = [k for k, v in expected.items() if doc.get(k) != v]
        if differs:
            return f"made for another data set ({', '.join(differs)} differ)"
        try:
            proof = Proof.from_json(json.dumps(doc["proof"]))
            challenge = bytes.fromhex(doc["challenge"])
            finished = Finished(
                challenge, proof, _moment(doc["finished_at"]), _seconds(doc["duration_s"])
            )
        except (InvalidProof, KeyError, TypeError, ValueError) as exc:
            return f"malformed ({exc})"
        if len(challenge) != 32:
            return "malformed (challenge is not 32 bytes)"
        return finished, bool(doc.get("delivered"))

    def discard(self) -> None:
        """Remove the proof file; anything else there (a directory) is left for its owner."""
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            self.path.unlink()


def _moment(value: object) -> float:
    """A wall-clock time from the file: a number of seconds between 1970 and 9999, else 0."""
    moment = float(value)  # type: ignore[arg-type]
    return moment if math.isfinite(moment) and 0 <= moment < _YEAR_10000 else 0.0


def _seconds(value: object) -> float:
    seconds = float(value)  # type: ignore[arg-type]
    return seconds if math.isfinite(seconds) and seconds >= 0 else 0.0
