"""ROMix for a handful of labels: every lane of the batch packed into one Python integer.

Each 32-bit word sits in its own 64-bit slot, so one big-int add, xor or shift acts on all
lanes at once and the spare 32 bits absorb carries and shifted-out bits until masked.
Word ``4 * row + i`` of label ``b`` lives in slot ``4 * b + i`` of the integer for ``row``
(rows a, b, c, d of the ChaCha state), which makes a column round one op per step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_WORD = 0xFFFFFFFF
Row4 = tuple[int, int, int, int]


def _lane_mask(batch: int, lanes: tuple[int, ...]) -> int:
    unit = 0
    for i in lanes:
        unit |= _WORD << (64 * i)
    mask = 0
    for b in range(batch):
        mask |= unit << (256 * b)
    return mask


def _make_core(batch: int) -> Callable[[int, int, int, int], Row4]:
    m = _lane_mask(batch, (0, 1, 2, 3))
    k012, k3 = _lane_mask(batch, (0, 1, 2)), _lane_mask(batch, (3,))
    k01, k23 = _lane_mask(batch, (0, 1)), _lane_mask(batch, (2, 3))
    k0, k123 = _lane_mask(batch, (0,)), _lane_mask(batch, (1, 2, 3))

    def core(a: int, b: int, c: int, d: int) -> Row4:
        a0, b0, c0, d0 = a, b, c, d
        for _ in range(4):
            a = (a + b) & m
            d ^= a
            d = ((d << 16) | (d >> 16)) & m
            c = (c + d) & m
            b ^= c
            b = ((b << 12) | (b >> 20)) & m
            a = (a + b) & m
            d ^= a
            d = ((d << 8) | (d >> 24)) & m
            c = (c + d) & m
            b ^= c
            b = ((b << 7) | (b >> 25)) & m
            # Diagonals: rotate the lanes of b, c, d by 1, 2, 3 inside each label.
            b = ((b >> 64) & k012) | ((b << 192) & k3)
            c = ((c >> 128) & k01) | ((c << 128) & k23)
            d = ((d >> 192) & k0) | ((d << 64) & k123)
            a = (a + b) & m
            d ^= a
            d = ((d << 16) | (d >> 16)) & m
            c = (c + d) & m
            b ^= c
            b = ((b << 12) | (b >> 20)) & m
            a = (a + b) & m
            d ^= a
            d = ((d << 8) | (d >> 24)) & m
            c = (c + d) & m
            b ^= c
            b = ((b << 7) | (b >> 25)) & m
            b = ((b >> 192) & k0) | ((b << 64) & k123)
            c = ((c >> 128) & k01) | ((c << 128) & k23)
            d = ((d >> 64) & k012) | ((d << 192) & k3)
        return (a + a0) & m, (b + b0) & m, (c + c0) & m, (d + d0) & m

    return core


def _pack(chunks: np.ndarray) -> list[int]:
    words = chunks.reshape(-1, 2, 4, 4).astype("<u8")  # label, block, row, lane
    return [
        int.from_bytes(np.ascontiguousarray(words[:, k, row, :]).tobytes(), "little")
        for k in range(2)
        for row in range(4)
    ]


def _unpack(x: list[int], batch: int) -> np.ndarray:
    out = np.empty((batch, 2, 4, 4), dtype=np.uint32)
    for k in range(2):
        for row in range(4):
            raw = x[4 * k + row].to_bytes(32 * batch, "little")
            out[:, k, row, :] = np.frombuffer(raw, dtype="<u8").reshape(batch, 4)
    return out.reshape(batch, 32)


def romix_packed(chunks: np.ndarray, n: int) -> np.ndarray:
    """ROMix (r = 1) of a small (B, 32) uint32 batch; same result as the numpy version."""
    batch = chunks.shape[0]
    core = _make_core(batch)

    def block_mix(x: list[int]) -> list[int]:
        y0 = core(x[4] ^ x[0], x[5] ^ x[1], x[6] ^ x[2], x[7] ^ x[3])
        y1 = core(y0[0] ^ x[4], y0[1] ^ x[5], y0[2] ^ x[6], y0[3] ^ x[7])
        return [*y0, *y1]

    x = _pack(chunks)
    v: list[list[int]] = []
    for _ in range(n):
        v.append(x)
        x = block_mix(x)
    label_masks = [((1 << 256) - 1) << (256 * b) for b in range(batch)]
    for _ in range(n):
        # Integerify: word 0 of the last block, per label.
        if batch == 1:
            picked = v[x[4] & (n - 1)]
        else:
            rows = [v[(x[4] >> (256 * b)) & (n - 1)] for b in range(batch)]
            picked = [0] * 8
            for w in range(8):
                acc = 0
                for src, mask in zip(rows, label_masks, strict=True):
                    acc |= src[w] & mask
                picked[w] = acc
        x = block_mix([a ^ b for a, b in zip(x, picked, strict=True)])
    return _unpack(x, batch)
