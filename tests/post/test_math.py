"""Difficulty, index packing and the k3 shuffle: small pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mergetool._exceptions import InvalidParameters
from mergetool.post.compression import index_bits, pack_indices, packed_len, unpack_indices
from mergetool.post.difficulty import proving_difficulty, scaled_pow_target
from mergetool.post.shuffle import pick_subset


@pytest.mark.parametrize("num_labels", [0, 1, 26])
def test_too_few_labels(num_labels: int) -> None:
    with pytest.raises(InvalidParameters, match=f"number of labels {num_labels} must be greater"):
        proving_difficulty(num_labels, 26)


def test_difficulty_just_above_k1_still_fits_u64() -> None:
    value = proving_difficulty(27, 26).value
    assert value == (26 << 64) // 27 and value < 1 << 64


def test_difficulty_split_into_msb_and_lsb() -> None:
    d = proving_difficulty(4 << 32, 26)  # mainnet, 4 units
    assert d.value == 26 << 30 and d.msb == 0 and d.lsb == 26 << 30
    d = proving_difficulty(512, 12)
    assert d.msb == (12 << 64) // 512 >> 56 == 6 and d.lsb == 0


def test_pow_target_is_scaled_by_units() -> None:
    assert scaled_pow_target(b"\xff" * 32, 1) == b"\xff" * 32
    assert scaled_pow_target(bytes(31) + b"\x09", 3) == bytes(31) + b"\x03"
    with pytest.raises(InvalidParameters, match="32 bytes"):
        scaled_pow_target(b"\x00", 1)


@pytest.mark.parametrize(
    ("num_labels", "bits"), [(1, 1), (4, 3), (7, 3), (1 << 15, 16), (1 << 63, 64), (0, 0)]
)
def test_index_bits(num_labels: int, bits: int) -> None:
    assert index_bits(num_labels) == bits


def test_packing_layout_lsb_first() -> None:
    assert pack_indices([1, 0, 1], 1) == b"\x05"
    assert pack_indices([5, 2, 7], 3) == bytes([0b11010101, 0b1])
    assert pack_indices([0xABCD, 0x1234], 16) == bytes.fromhex("cdab3412")
    assert pack_indices([2**64 - 1], 64) == b"\xff" * 8
    assert packed_len(3, 37) == 14


@pytest.mark.parametrize("bits", [1, 3, 16, 64])
@given(data=st.data())
def test_pack_round_trip(bits: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.integers(0, (1 << bits) - 1), max_size=40))
    packed = pack_indices(values, bits)
    assert len(packed) == packed_len(bits, len(values))
    assert unpack_indices(packed, bits, len(values)) == values


def test_index_too_wide() -> None:
    with pytest.raises(InvalidParameters, match="index 8 does not fit in 3 bits"):
        pack_indices([8], 3)


def test_shuffle_is_deterministic_and_picks_distinct_items() -> None:
    items = list(range(100, 137))
    a = pick_subset(items, 5, b"seed", bytes(32), bytes(32))
    assert a == pick_subset(items, 5, b"seed", bytes(32), bytes(32))
    assert len(set(a)) == 5 and set(a) <= set(items)
    assert a != pick_subset(items, 5, b"other", bytes(32), bytes(32))


def test_shuffle_first_pick_follows_the_xof() -> None:
    import blake3

    stream = blake3.blake3(b"s" + bytes(64)).digest(length=64)
    values = [int.from_bytes(stream[i : i + 2], "little") for i in range(0, 64, 2)]
    first = next(v for v in values if v < 65535 - 65535 % 37)
    assert pick_subset(list(range(37)), 1, b"s", bytes(32), bytes(32)) == [first % 37]


def test_shuffle_with_k3_equal_k2_returns_all_in_order() -> None:
    assert pick_subset([3, 1, 2], 3, b"", bytes(32), bytes(32)) == [3, 1, 2]
