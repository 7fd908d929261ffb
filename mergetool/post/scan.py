"""The proving hot loop: which labels of a chunk count for which nonces of a pass.

Per nonce group and chunk: one OpenSSL AES-ECB call and one numpy compare against ``msb``.
A scanner may own several groups (their ciphertexts share one buffer), but one group per
scanner keeps the buffer in L2 and measured fastest. Candidate bytes are rare (1 in 256
at mainnet difficulty), so they are found word-wise first; ties with ``msb`` get the
nonce's own AES with one OpenSSL call per nonce.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LSB_MASK = (1 << 56) - 1
_LABEL = np.dtype("V16")  # one label as one element: gathers copy 16 bytes at a time


def group_cipher(challenge: bytes, group: int, pow_value: int, nonce: int | None = None) -> Any:
    """AES-128-ECB keyed by ``blake3(challenge || u32le(g) || u64le(pow) [|| u32le(n)])[:16]``."""
    import blake3
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    material = challenge + group.to_bytes(4, "little") + pow_value.to_bytes(8, "little")
    if nonce is not None:
        material += nonce.to_bytes(4, "little")
    return Cipher(algorithms.AES(blake3.blake3(material).digest()[:16]), modes.ECB())


class PassScanner:
    """Scans chunks of labels for a set of nonce groups (each with its k2pow)."""

    def __init__(
        self, challenge: bytes, pows: dict[int, int], msb: int, lsb: int, capacity: int
    ) -> None:
        self.challenge, self.pows, self.msb, self.lsb = challenge, pows, msb, lsb
        self.groups = sorted(pows)
        self.encryptors = [group_cipher(challenge, g, pows[g]).encryptor() for g in self.groups]
        self.lazy: dict[int, Any] = {}
        size = len(self.groups) * capacity
        self.out = bytearray(size + 15)
        self.cipher = np.frombuffer(self.out, dtype=np.uint8, count=size)
        self.mask = np.empty(size, dtype=bool)
        self.words = np.empty(size // 8, dtype=bool)
        self.lazy_out = bytearray(capacity * 2 + 15)

    def _lazy(self, slot: int) -> Any:
        enc = self.lazy.get(slot)
        if enc is None:
            group = self.groups[slot >> 4]
            nonce = 16 * group + (slot & 15)
            enc = group_cipher(self.challenge, group, self.pows[group], nonce).encryptor()
            self.lazy[slot] = enc
        return enc

    def scan(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(nonces, label_offsets)`` that count; per nonce the labels come in data order."""
        size = len(labels)
        view = memoryview(self.out)
        for k, enc in enumerate(self.encryptors):
            enc.update_into(labels, view[k * size :])
        total = size * len(self.groups)
        cipher, mask, words = self.cipher[:total], self.mask[:total], self.words[: total // 8]
        np.less_equal(cipher, self.msb, out=mask)
        np.not_equal(mask.view(np.uint64), 0, out=words)
        hit_words = np.flatnonzero(words)
        # (a bool view keeps numpy's fast nonzero path; uint8 would be ~10x slower)
        inner = np.flatnonzero(mask.view(np.uint64)[hit_words].view(np.bool_))
        pos = hit_words[inner >> 3] * 8 + (inner & 7)
        group_index, offset = np.divmod(pos, size)
        # With msb = 0 (any realistic data size) every candidate is a tie: skip the compare.
        ties = np.arange(len(pos)) if self.msb == 0 else np.flatnonzero(cipher[pos] == self.msb)
        if len(ties):
            keep = self._tie_survivors(labels, group_index[ties], offset[ties], ties, len(pos))
            group_index, offset = group_index[keep], offset[keep]
        nonces = np.asarray(self.groups, dtype=np.int64)[group_index] * 16 + (offset & 15)
        return nonces, offset >> 4

    def _tie_survivors(
        self,
        labels: np.ndarray,
        group_index: np.ndarray,
        offset: np.ndarray,
        ties: np.ndarray,
        count: int,
    ) -> np.ndarray:
        # slot = group index * 16 + byte: which nonce of this scanner a tie belongs to.
        slots = group_index * 16 + (offset & 15)
        key = slots.astype(np.uint8 if len(self.groups) <= 16 else np.uint16)
        order = np.argsort(key, kind="stable")  # small unsigned keys: numpy's radix sort
        counts = np.bincount(slots, minlength=16 * len(self.groups))
        block = labels.view(_LABEL)[(offset >> 4)[order]]
        if len(self.lazy_out) < 16 * len(block) + 15:
            self.lazy_out = bytearray(16 * len(block) + 15)
        src, dst = memoryview(block).cast("B"), memoryview(self.lazy_out)
        start = 0
        for slot in np.flatnonzero(counts).tolist():
            end = start + 16 * int(counts[slot])
            self._lazy(slot).update_into(src[start:end], dst[start:])
            start = end
        low = np.frombuffer(self.lazy_out, dtype="<u8", count=2 * len(block))[::2]
        keep = np.ones(count, dtype=bool)
        keep[ties[order]] = (low & np.uint64(LSB_MASK)) < np.uint64(self.lsb)
        return keep
