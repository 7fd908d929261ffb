"""The label difficulty derived from k1, and the k2pow target scaled by the number of units."""

from __future__ import annotations

from dataclasses import dataclass

from mergetool._exceptions import InvalidParameters
from mergetool.post.params import U64_MAX, check_32_bytes

LSB_MASK = (1 << 56) - 1  # the lazy check compares the low 56 bits of a nonce's own AES


@dataclass(frozen=True)
class Difficulty:
    """A label counts for a nonce when its AES byte is < msb, or == msb and the lazy check < lsb."""

    value: int

    @property
    def msb(self) -> int:
        return self.value >> 56

    @property
    def lsb(self) -> int:
        return self.value & LSB_MASK


def proving_difficulty(num_labels: int, k1: int) -> Difficulty:
    """``floor(2^64 * k1 / num_labels)``; errors when ``num_labels <= k1`` or it overflows u64."""
    if num_labels <= k1:
        raise InvalidParameters(
            f"number of labels {num_labels} must be greater than k1 = {k1}",
            hint="Use more units or more labels per unit.",
        )
    value = (k1 << 64) // num_labels
    if value > U64_MAX:
        raise InvalidParameters(f"difficulty for {num_labels} labels and k1 = {k1} overflows u64")
    return Difficulty(value)


def scaled_pow_target(pow_difficulty: bytes, num_units: int) -> bytes:
    """The k2pow target: ``pow_difficulty / num_units`` as a 32-byte big-endian number."""
    check_32_bytes("pow difficulty", pow_difficulty)
    if num_units < 1:
        raise InvalidParameters(f"num_units must be >= 1, got {num_units}")
    return (int.from_bytes(pow_difficulty, "big") // num_units).to_bytes(32, "big")
