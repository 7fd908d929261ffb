"""The PoST cipher: which AES a nonce group (and, for ties, one nonce) encrypts labels with.

Both the scan (``scan.py``) and proof verification (``verification.py``) use it, so it is
kept apart from the proving loop.
"""

from __future__ import annotations

from typing import Any

import blake3
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mergetool.post.difficulty import LSB_MASK


def group_cipher(challenge: bytes, group: int, pow_value: int, nonce: int | None = None) -> Any:
    """AES-128-ECB keyed by ``blake3(challenge || u32le(g) || u64le(pow) [|| u32le(n)])[:16]``."""
    material = challenge + group.to_bytes(4, "little") + pow_value.to_bytes(8, "little")
    if nonce is not None:
        material += nonce.to_bytes(4, "little")
    return Cipher(algorithms.AES(blake3.blake3(material).digest()[:16]), modes.ECB())


def lazy_passes(
    challenge: bytes, group: int, pow_value: int, nonce: int, label: bytes, lsb: int
) -> bool:
    """Tie-break for a byte equal to msb: the nonce's own AES of the label, low 56 bits < lsb."""
    out = group_cipher(challenge, group, pow_value, nonce).encryptor().update(label)
    return int.from_bytes(out[:8], "little") & LSB_MASK < lsb
