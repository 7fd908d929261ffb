"""Packing proof indices into ``bit_length(num_labels)`` bits each, LSB first."""

from __future__ import annotations

from collections.abc import Sequence

from mergetool._exceptions import InvalidParameters


def index_bits(num_labels: int) -> int:
    """Bits per packed index: the bit length of the number of labels."""
    return num_labels.bit_length()


def packed_len(bits: int, count: int) -> int:
    """Bytes that ``count`` indices of ``bits`` bits take: ``ceil(bits * count / 8)``."""
    return (bits * count + 7) // 8


def pack_indices(indices: Sequence[int], bits: int) -> bytes:
    """Concatenate ``indices`` as little-endian bit fields of ``bits`` bits each."""
    value = 0
    for position, index in enumerate(indices):
        if index < 0 or index >> bits:
            raise InvalidParameters(f"index {index} does not fit in {bits} bits")
        value |= index << (position * bits)
    return value.to_bytes(packed_len(bits, len(indices)), "little")


def unpack_indices(data: bytes, bits: int, count: int) -> list[int]:
    """The ``count`` indices packed in ``data`` (inverse of :func:`pack_indices`)."""
    value = int.from_bytes(data, "little")
    mask = (1 << bits) - 1
    return [(value >> (position * bits)) & mask for position in range(count)]
