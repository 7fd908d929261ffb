"""scrypt-jane (Keccak-512 PBKDF2 + ChaCha20/8 ROMix), vectorized across many inputs.

Every function works on a batch: row ``b`` of each array is one independent scrypt
instance, so one numpy call advances all of them and Python overhead is paid once per
batch instead of once per label.
"""

from __future__ import annotations

import numpy as np

from mergetool._exceptions import InvalidParameters
from mergetool.post.scrypt_packed import romix_packed

_RATE = 72  # Keccak-512 rate in bytes (= HMAC block size in scrypt-jane)
_DIGEST = 64
_U64 = np.uint64

_ROUND_CONSTANTS = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]  # fmt: skip
_RC = np.array(_ROUND_CONSTANTS, dtype=_U64)


def _rho_pi_tables() -> tuple[np.ndarray, np.ndarray]:
    # lane index = x + 5y; rho offsets follow the (x, y) -> (y, 2x + 3y) walk from (1, 0).
    offsets = [0] * 25
    x, y = 1, 0
    for t in range(24):
        offsets[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    # pi: lane (x, y) moves to (y, 2x + 3y); `source[dest] = src` for a gather.
    source = [0] * 25
    for x in range(5):
        for y in range(5):
            source[y + 5 * ((2 * x + 3 * y) % 5)] = x + 5 * y
    return np.array(offsets, dtype=_U64), np.array(source, dtype=np.intp)


_RHO, _PI_SOURCE = _rho_pi_tables()
# Shifting a uint64 by 64 is undefined, so lanes with offset 0 shift right by 0 instead:
# (a << 0) | (a >> 0) == a, which is exactly a zero rotation.
_RHO_RIGHT = (np.uint64(64) - _RHO) % np.uint64(64)


def _keccak_f(state: np.ndarray) -> None:
    """Keccak-f[1600] in place on a (25, B) uint64 array (lane x + 5y in row x + 5y)."""
    one = _U64(1)
    sixty_three = _U64(63)
    rho = _RHO[:, None]
    rho_right = _RHO_RIGHT[:, None]
    for rc in _RC:
        planes = state.reshape(5, 5, -1)
        c = np.bitwise_xor.reduce(planes, axis=0)
        rolled = np.roll(c, -1, axis=0)
        d = np.roll(c, 1, axis=0) ^ ((rolled << one) | (rolled >> sixty_three))
        planes ^= d[None]
        rotated = (state << rho) | (state >> rho_right)
        b = rotated[_PI_SOURCE].reshape(5, 5, -1)
        planes[...] = b ^ (~np.roll(b, -1, axis=1) & np.roll(b, -2, axis=1))
        state[0] ^= rc


def keccak512(messages: np.ndarray) -> np.ndarray:
    """Keccak-512 (original 0x01 padding) of each row of a (B, L) uint8 array -> (B, 64)."""
    batch, length = messages.shape
    blocks = length // _RATE + 1
    padded = np.zeros((batch, blocks * _RATE), dtype=np.uint8)
    padded[:, :length] = messages
    padded[:, length] ^= 0x01
    padded[:, -1] ^= 0x80
    lanes = padded.view("<u8").reshape(batch, blocks, _RATE // 8)
    state = np.zeros((25, batch), dtype=_U64)
    for k in range(blocks):
        state[: _RATE // 8] ^= lanes[:, k, :].T
        _keccak_f(state)
    return np.ascontiguousarray(state[: _DIGEST // 8].T).astype("<u8").view(np.uint8)


def _hmac_keys(passwords: np.ndarray) -> np.ndarray:
    if passwords.shape[1] > _RATE:
        passwords = keccak512(passwords)
    keys = np.zeros((passwords.shape[0], _RATE), dtype=np.uint8)
    keys[:, : passwords.shape[1]] = passwords
    return keys


def pbkdf2_keccak512(passwords: np.ndarray, salts: np.ndarray, dklen: int) -> np.ndarray:
    """PBKDF2 with one iteration and HMAC-Keccak-512, row by row: (B, P), (B, S) -> (B, dklen)."""
    batch = passwords.shape[0]
    keys = _hmac_keys(passwords)
    inner_key = keys ^ np.uint8(0x36)
    outer_key = keys ^ np.uint8(0x5C)
    out = np.empty((batch, -(-dklen // _DIGEST) * _DIGEST), dtype=np.uint8)
    for block in range(out.shape[1] // _DIGEST):
        counter = np.frombuffer((block + 1).to_bytes(4, "big"), dtype=np.uint8)
        inner = keccak512(
            np.concatenate([inner_key, salts, np.broadcast_to(counter, (batch, 4))], axis=1)
        )
        digest = keccak512(np.concatenate([outer_key, inner], axis=1))
        out[:, block * _DIGEST : (block + 1) * _DIGEST] = digest
    return out[:, :dklen]


class _ChaCha8:
    """ChaCha20/8 core (with the final feed-forward add) for a (16, B) uint32 state.

    Rows 0-3, 4-7, 8-11, 12-15 hold the a, b, c, d words of every lane, so one ufunc call
    performs four quarter-rounds for the whole batch. The diagonal round is done by
    rotating the rows of b, c, d into spare buffers (a cheap take) and swapping names.
    """

    def __init__(self, batch: int) -> None:
        self.buffers = [np.empty((4, batch), dtype=np.uint32) for _ in range(8)]
        self.tmp = np.empty((4, batch), dtype=np.uint32)

    def __call__(self, x: np.ndarray) -> None:
        add, xor, shl, shr, orr, take = (
            np.add, np.bitwise_xor, np.left_shift, np.right_shift, np.bitwise_or, np.take,
        )  # fmt: skip
        t = self.tmp
        a, b, c, d, sb, sc, sd, _ = self.buffers
        np.copyto(a, x[0:4])
        np.copyto(b, x[4:8])
        np.copyto(c, x[8:12])
        np.copyto(d, x[12:16])
        s16, s12, s8, s7 = np.uint32(16), np.uint32(12), np.uint32(8), np.uint32(7)
        r16, r20, r24, r25 = np.uint32(16), np.uint32(20), np.uint32(24), np.uint32(25)
        left1, left2, left3 = (1, 2, 3, 0), (2, 3, 0, 1), (3, 0, 1, 2)
        for half in range(8):
            add(a, b, out=a)
            xor(d, a, out=d)
            shl(d, s16, out=t)
            shr(d, r16, out=d)
            orr(d, t, out=d)
            add(c, d, out=c)
            xor(b, c, out=b)
            shl(b, s12, out=t)
            shr(b, r20, out=b)
            orr(b, t, out=b)
            add(a, b, out=a)
            xor(d, a, out=d)
            shl(d, s8, out=t)
            shr(d, r24, out=d)
            orr(d, t, out=d)
            add(c, d, out=c)
            xor(b, c, out=b)
            shl(b, s7, out=t)
            shr(b, r25, out=b)
            orr(b, t, out=b)
            if half % 2 == 0:  # line the diagonals up as columns
                take(b, left1, axis=0, out=sb)
                take(c, left2, axis=0, out=sc)
                take(d, left3, axis=0, out=sd)
            else:  # and back
                take(b, left3, axis=0, out=sb)
                take(c, left2, axis=0, out=sc)
                take(d, left1, axis=0, out=sd)
            b, sb = sb, b
            c, sc = sc, c
            d, sd = sd, d
        add(x[0:4], a, out=x[0:4])
        add(x[4:8], b, out=x[4:8])
        add(x[8:12], c, out=x[8:12])
        add(x[12:16], d, out=x[12:16])


# Below this many lanes numpy's per-call overhead dominates and the packed-integer ROMix
# (one Python int carries every lane) is faster: at N = 8192 one label takes ~0.4 s
# instead of ~8 s and 37 labels ~3.6 s, which is what verifying a mainnet proof needs.
PACKED_MAX_BATCH = 64


def romix(chunks: np.ndarray, n: int, r: int) -> np.ndarray:
    """scrypt ROMix with ChaCha20/8 BlockMix over a (B, 32r) uint32 array; returns a new one.

    Memory: n * B * 128 * r bytes for V, plus a few working copies of the chunks.
    """
    if r == 1 and chunks.shape[0] <= PACKED_MAX_BATCH:
        return romix_packed(chunks, n)
    return romix_numpy(chunks, n, r)


def romix_numpy(chunks: np.ndarray, n: int, r: int) -> np.ndarray:
    """The vectorized numpy ROMix (any r); best for large batches."""
    batch = chunks.shape[0]
    blocks = 2 * r
    core = _ChaCha8(batch)
    # x: (2r, 16, B): word w of block k of every lane is x[k, w]; contiguous per row.
    x = chunks.reshape(batch, blocks, 16).transpose(1, 2, 0).copy()  # never alias the input
    y = np.empty_like(x)
    acc = np.empty((16, batch), dtype=np.uint32)
    v = np.empty((n, batch, blocks * 16), dtype=np.uint32)
    lanes = np.arange(batch)
    order = [(i // 2) + (i % 2) * r for i in range(blocks)]

    def block_mix(src: np.ndarray, dst: np.ndarray) -> None:
        np.copyto(acc, src[blocks - 1])
        for i in range(blocks):
            np.bitwise_xor(acc, src[i], out=acc)
            core(acc)
            np.copyto(dst[order[i]], acc)

    flat_x = x.reshape(blocks * 16, batch)
    for i in range(n):
        np.copyto(v[i], flat_x.T)
        block_mix(x, y)
        x, y = y, x
        flat_x = x.reshape(blocks * 16, batch)
    for _ in range(n):
        j = flat_x[(blocks - 1) * 16] & np.uint32(n - 1)
        np.bitwise_xor(flat_x, v[j, lanes].T, out=flat_x)
        block_mix(x, y)
        x, y = y, x
        flat_x = x.reshape(blocks * 16, batch)
    return np.ascontiguousarray(flat_x.T)


def check_n(n: int) -> None:
    """Raise InvalidParameters unless n is a power of two >= 2."""
    if n < 2 or n & (n - 1):
        raise InvalidParameters(f"scrypt N must be a power of two >= 2, got {n}")


def scrypt_jane(password: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """scrypt-jane with Keccak-512 and ChaCha20/8, as compiled into post-rs (any N, r, p)."""
    check_n(n)
    if r < 1 or p < 1 or dklen < 1:
        raise InvalidParameters(f"scrypt r, p and dklen must be >= 1, got {r}, {p}, {dklen}")
    pw = np.frombuffer(password, dtype=np.uint8).reshape(1, -1)
    st = np.frombuffer(salt, dtype=np.uint8).reshape(1, -1)
    chunk_bytes = 128 * r
    b = pbkdf2_keccak512(pw, st, p * chunk_bytes)
    # The p chunks are independent: mix them as one batch.
    chunks = np.ascontiguousarray(b.reshape(p, chunk_bytes)).view("<u4")
    mixed = romix(chunks, n, r).astype("<u4").view(np.uint8).reshape(1, -1)
    return pbkdf2_keccak512(pw, mixed, dklen).tobytes()


def scrypt_labels(passwords: np.ndarray, n: int, dklen: int = 32) -> np.ndarray:
    """scrypt-jane (r = p = 1, empty salt) of each row of a (B, P) uint8 array -> (B, dklen)."""
    check_n(n)
    batch = passwords.shape[0]
    empty = np.zeros((batch, 0), dtype=np.uint8)
    b = pbkdf2_keccak512(passwords, empty, 128)
    mixed = romix(np.ascontiguousarray(b).view("<u4"), n, 1)
    return pbkdf2_keccak512(passwords, mixed.astype("<u4").view(np.uint8), dklen)
