"""Spacemesh account addresses (the coinbase): bech32 text holding 24 bytes.

The checksum is BIP-173's bech32 (not bech32m). Mainnet addresses use the prefix ``sm``,
test networks ``stest`` (and ``standalone`` for a local network).
"""

from __future__ import annotations

ADDRESS_BYTES = 24
MAINNET_HRP = "sm"
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(
    values: list[int] | bytes, from_bits: int, to_bits: int, pad: bool
) -> list[int] | None:
    """Re-split a bit string into ``to_bits`` groups; None when unpadded leftovers are not zero
    bits (BIP-173 requires them to be)."""
    acc = bits = 0
    out = []
    for value in values:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & ((1 << to_bits) - 1))
    if pad and bits:
        out.append((acc << (to_bits - bits)) & ((1 << to_bits) - 1))
    elif not pad and (bits >= from_bits or acc & ((1 << bits) - 1)):
        return None
    return out


def address_problem(text: str) -> tuple[str, bytes] | str:
    """``(hrp, 24 address bytes)`` when ``text`` is an address, else why it is not."""
    if text != text.lower() and text != text.upper():
        return "mixes upper and lower case"
    text = text.lower()
    hrp, sep, data = text.rpartition("1")
    if not sep or not hrp:
        return "has no bech32 prefix (like sm1...)"
    if len(data) < 6:
        return "is too short"
    bad = sorted({c for c in data if c not in _CHARSET})
    if bad:
        return f"has characters bech32 does not use ({''.join(bad)})"
    groups = [_CHARSET.index(c) for c in data]
    if _polymod(_hrp_expand(hrp) + groups) != 1:
        return "has a wrong checksum (a typo?)"
    raw = _regroup(groups[:-6], 5, 8, pad=False)
    if raw is None or len(raw) != ADDRESS_BYTES:
        return f"does not hold {ADDRESS_BYTES} bytes"
    return hrp, bytes(raw)


def encode_address(raw: bytes, hrp: str = MAINNET_HRP) -> str:
    """The bech32 text of ``raw`` (used to build examples and tests)."""
    groups = _regroup(raw, 8, 5, pad=True) or []
    check = _polymod(_hrp_expand(hrp) + groups + [0] * 6) ^ 1
    groups += [(check >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[g] for g in groups)
