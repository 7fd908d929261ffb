"""The seeded Fisher-Yates pick of k3 out of k2 proof indices, driven by a BLAKE3 XOF."""

from __future__ import annotations

from collections.abc import Sequence

import blake3

_U16_MAX = 0xFFFF


def pick_subset(
    items: Sequence[int], k3: int, seed: bytes, node_id: bytes, challenge: bytes
) -> list[int]:
    """The first ``k3`` items of a Fisher-Yates shuffle keyed by ``seed||node_id||challenge``."""
    pool = list(items)
    count = min(k3, len(pool))
    if count == len(pool):
        return pool
    reader = blake3.blake3(seed + node_id + challenge)
    stream = b""
    offset = 0
    picked = []
    for idx in range(count):
        remaining = len(pool) - idx
        # Rejecting the top of the u16 range keeps `value % remaining` unbiased.
        limit = _U16_MAX - _U16_MAX % remaining
        while True:
            if offset + 2 > len(stream):
                stream = reader.digest(length=len(stream) * 2 + 64)
            value = int.from_bytes(stream[offset : offset + 2], "little")
            offset += 2
            if value < limit:
                break
        swap = idx + value % remaining
        pool[idx], pool[swap] = pool[swap], pool[idx]
        picked.append(pool[idx])
    return picked
