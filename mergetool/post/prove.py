"""Proof generation: scan the PoST data once per pass of nonces, AES-encrypting every label.

The scan itself (AES + compare per nonce group, streamed in chunks) is in ``scan.py``;
``--threads`` spreads it over processes by label span and the k2pow over RandomX VMs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mergetool._exceptions import InvalidParameters, InvalidProof, ProvingFailed
from mergetool.post.metadata import read_metadata
from mergetool.post.params import check_32_bytes, check_threads
from mergetool.post.progress import Progress
from mergetool.post.scan import CHUNK_LABELS, PassRunner, check_files, check_nonces

PassStarted = Callable[[int, int], None]


@dataclass(frozen=True)
class Proof:
    """A PoST proof: the winning nonce, its k2 packed label indices and its group's k2pow."""

    nonce: int
    indices: bytes
    pow: int

    def to_json(self) -> dict[str, Any]:
        """``{"nonce": …, "indices": "<base64>", "pow": …}`` as post-service prints it."""
        return {
            "nonce": self.nonce,
            "indices": base64.b64encode(self.indices).decode(),
            "pow": self.pow,
        }

    @classmethod
    def from_json(cls, text: str | bytes) -> Proof:
        """Parse proof JSON; anything malformed raises InvalidProof("malformed proof")."""
        try:
            doc = json.loads(text)
        except UnicodeDecodeError as exc:
            raise InvalidProof("malformed proof", detail="not JSON (not UTF-8 text)") from exc
        except ValueError as exc:
            raise InvalidProof("malformed proof", detail=f"not JSON ({exc})") from exc
        except RecursionError as exc:
            raise InvalidProof("malformed proof", detail="not JSON (nested too deeply)") from exc
        if not isinstance(doc, dict):
            raise InvalidProof("malformed proof", detail="expected a JSON object")
        for name in ("nonce", "indices", "pow"):
            if name not in doc:
                raise InvalidProof("malformed proof", detail=f"missing field {name!r}")
        nonce, pow_value, indices = doc["nonce"], doc["pow"], doc["indices"]
        for name, value, bits in (("nonce", nonce, 32), ("pow", pow_value, 64)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << bits:
                raise InvalidProof(
                    "malformed proof", detail=f"{name} must be an integer in 0 .. 2^{bits}-1"
                )
        if not isinstance(indices, str):
            raise InvalidProof("malformed proof", detail="indices must be a base64 string")
        try:
            raw = base64.b64decode(indices, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidProof("malformed proof", detail="indices are not valid base64") from exc
        return cls(nonce=nonce, indices=raw, pow=pow_value)


def generate_proof(
    directory: Path,
    challenge: bytes,
    *,
    k1: int,
    k2: int,
    pow_difficulty: bytes,
    nonces: int = 128,
    threads: int = 1,
    randomx_fast: bool = False,
    start_nonce: int = 0,
    chunk_labels: int = CHUNK_LABELS,
    progress: Progress | None = None,
    on_pass: PassStarted | None = None,
) -> Proof:
    """Find a proof for ``challenge`` over the data in ``directory`` (passes of ``nonces``)."""
    from mergetool.post.compression import index_bits, pack_indices
    from mergetool.post.difficulty import proving_difficulty, scaled_pow_target
    from mergetool.post.pow import MAX_GROUP, find_pow

    check_nonces(nonces)
    check_32_bytes("challenge", challenge)
    directory = Path(directory)
    meta = read_metadata(directory)
    difficulty = proving_difficulty(meta.num_labels, k1)
    if k2 > meta.num_labels:
        raise InvalidParameters(
            f"k2 = {k2} is more than the {meta.num_labels} labels of the data: no nonce can "
            "collect that many"
        )
    target = scaled_pow_target(pow_difficulty, meta.num_units)
    check_files(directory, meta)
    check_threads(threads)
    start = start_nonce - start_nonce % 16
    with PassRunner(directory, meta, challenge, difficulty, k2, threads, chunk_labels) as runner:
        while True:
            groups = list(range(start // 16, (start + nonces) // 16))
            if groups[0] > MAX_GROUP:
                raise ProvingFailed(f"no proof found with nonces {start_nonce} .. {start - 1}")
            groups = [g for g in groups if g <= MAX_GROUP]
            if on_pass:
                on_pass(start, start + 16 * len(groups))
            pows = {
                g: find_pow(g, challenge, meta.node_id, target, threads=threads, fast=randomx_fast)
                for g in groups
            }
            found = runner.run(pows, progress)
            if found is not None:
                nonce, indices = found
                bits = index_bits(meta.num_labels)
                return Proof(
                    nonce=nonce, indices=pack_indices(indices, bits), pow=pows[nonce // 16]
                )
            start += nonces
