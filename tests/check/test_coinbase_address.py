"""Coinbase addresses: bech32 with 24 bytes, as wallets print them."""

from __future__ import annotations

import pytest

from mergetool.check.address import address_problem, encode_address

RAW = bytes(4) + bytes(range(20))


def test_an_encoded_address_decodes_to_its_bytes() -> None:
    text = encode_address(RAW)
    assert text.startswith("sm1") and len(text) == 48
    assert address_problem(text) == ("sm", RAW)
    assert address_problem(text.upper()) == ("sm", RAW)
    assert address_problem(encode_address(RAW, "stest")) == ("stest", RAW)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hello", "has no bech32 prefix (like sm1...)"),
        ("sm1qq", "is too short"),
        ("sm1qqqqqqbqqqqqq", "has characters bech32 does not use (b)"),
        (encode_address(RAW)[:-1] + "x", "has a wrong checksum (a typo?)"),
        (encode_address(RAW[:20]), "does not hold 24 bytes"),
        ("Sm1" + encode_address(RAW)[3:], "mixes upper and lower case"),
    ],
)
def test_what_is_not_an_address(text: str, problem: str) -> None:
    assert address_problem(text) == problem
