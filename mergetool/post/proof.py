"""A PoST proof as a value: the winning nonce, its packed indices and its k2pow, and its JSON."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from mergetool._exceptions import InvalidProof

#: Proof JSON is a few hundred bytes; readers stop after this many (a stream may not end).
MAX_PROOF_BYTES = 1 << 20


@dataclass(frozen=True)
class Proof:
    """A PoST proof: the winning nonce, its k2 packed label indices and its group's k2pow."""

    nonce: int
    indices: bytes
    pow: int

    def to_dict(self) -> dict[str, Any]:
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
