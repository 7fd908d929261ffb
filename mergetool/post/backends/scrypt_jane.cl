/*
 * scrypt-jane labels for Spacemesh PoST, written from docs in ../shared/spec/post.md:
 *   label(i) = scrypt(P = commitment || u64le(i) || 0^32, S = "", N, r = 1, p = 1, dkLen = 32)
 * with Keccak-512 (original padding 0x01, rate 72 bytes) inside HMAC/PBKDF2 and ChaCha20/8 as
 * the mixing function. One work item computes one label; each owns N * 128 bytes of `scratch`.
 *
 * Build options: -D SCRYPT_N=<power of two >= 2>.
 */

#ifndef SCRYPT_N
#error "SCRYPT_N must be defined"
#endif

/* ---- Keccak-f[1600] ------------------------------------------------------------------------ */

__constant ulong KECCAK_RC[24] = {
    0x0000000000000001UL, 0x0000000000008082UL, 0x800000000000808AUL, 0x8000000080008000UL,
    0x000000000000808BUL, 0x0000000080000001UL, 0x8000000080008081UL, 0x8000000000008009UL,
    0x000000000000008AUL, 0x0000000000000088UL, 0x0000000080008009UL, 0x000000008000000AUL,
    0x000000008000808BUL, 0x800000000000008BUL, 0x8000000000008089UL, 0x8000000000008003UL,
    0x8000000000008002UL, 0x8000000000000080UL, 0x000000000000800AUL, 0x800000008000000AUL,
    0x8000000080008081UL, 0x8000000000008080UL, 0x0000000080000001UL, 0x8000000080008008UL};

/* Rotation amount of lane x + 5y (rho), and where that lane lands after pi. */
__constant uint KECCAK_RHO[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                  25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
__constant uint KECCAK_PI[25] = {0,  10, 20, 5,  15, 16, 1,  11, 21, 6,  7,  17, 2,
                                 12, 22, 23, 8,  18, 3,  13, 14, 24, 9,  19, 4};

static void keccak_f(ulong s[25]) {
    ulong b[25];
    ulong c[5];
    for (int round = 0; round < 24; round++) {
#pragma unroll
        for (int x = 0; x < 5; x++)
            c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
#pragma unroll
        for (int x = 0; x < 5; x++) {
            ulong d = c[(x + 4) % 5] ^ rotate(c[(x + 1) % 5], 1UL);
#pragma unroll
            for (int y = 0; y < 25; y += 5)
                s[x + y] ^= d;
        }
#pragma unroll
        for (int i = 0; i < 25; i++)
            b[KECCAK_PI[i]] = rotate(s[i], (ulong)KECCAK_RHO[i]);
#pragma unroll
        for (int y = 0; y < 25; y += 5) {
#pragma unroll
            for (int x = 0; x < 5; x++)
                s[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
        }
        s[0] ^= KECCAK_RC[round];
    }
}

/* ---- HMAC-Keccak-512 / PBKDF2 (one iteration) ---------------------------------------------- */

/* The 72-byte password equals the HMAC block size, so key^ipad and key^opad are exactly one
 * block each: absorb them once per label and start every HMAC from these two states. */
typedef struct {
    ulong inner[25];
    ulong outer[25];
} hmac_keys;

static void hmac_init(hmac_keys *k, const ulong key[9]) {
    for (int i = 0; i < 25; i++) {
        k->inner[i] = 0;
        k->outer[i] = 0;
    }
    for (int i = 0; i < 9; i++) {
        k->inner[i] = key[i] ^ 0x3636363636363636UL;
        k->outer[i] = key[i] ^ 0x5c5c5c5c5c5c5c5cUL;
    }
    keccak_f(k->inner);
    keccak_f(k->outer);
}

/* Finish an HMAC given the inner state after the whole message (padding included). */
static void hmac_finish(const hmac_keys *k, ulong s[25], ulong out[8]) {
    ulong h[8];
    keccak_f(s);
    for (int i = 0; i < 8; i++)
        h[i] = s[i];
    for (int i = 0; i < 25; i++)
        s[i] = k->outer[i];
    for (int i = 0; i < 8; i++)
        s[i] ^= h[i];
    /* 64-byte digest + pad byte 0x01 at offset 64, final bit 0x80 at offset 71. */
    s[8] ^= 0x01UL | (0x80UL << 56);
    keccak_f(s);
    for (int i = 0; i < 8; i++)
        out[i] = s[i];
}

/* PBKDF2 block `i` over an empty salt: the message is just u32be(i). */
static void pbkdf2_empty_salt(const hmac_keys *k, uint i, ulong out[8]) {
    ulong s[25];
    for (int j = 0; j < 25; j++)
        s[j] = k->inner[j];
    /* bytes 00 00 00 i, then the Keccak pad byte 0x01 */
    s[0] ^= ((ulong)i << 24) | (0x01UL << 32);
    s[8] ^= 0x80UL << 56;
    hmac_finish(k, s, out);
}

/* PBKDF2 block 1 over the 128-byte salt `salt` (16 lanes). */
static void pbkdf2_salt128(const hmac_keys *k, const ulong salt[16], ulong out[8]) {
    ulong s[25];
    for (int j = 0; j < 25; j++)
        s[j] = k->inner[j];
    for (int j = 0; j < 9; j++)
        s[j] ^= salt[j];
    keccak_f(s);
    for (int j = 0; j < 7; j++)
        s[j] ^= salt[9 + j];
    /* byte 128..131 = u32be(1), then pad byte 0x01 */
    s[7] ^= (0x01UL << 24) | (0x01UL << 32);
    s[8] ^= 0x80UL << 56;
    hmac_finish(k, s, out);
}

/* ---- ChaCha20/8 BlockMix and ROMix ---------------------------------------------------------- */

/* One ChaCha core (8 rounds plus feed-forward) on a 64-byte block kept as four uint4 rows, so
 * each quarter-round step is one vector instruction and the diagonal round is a lane rotation. */
static void chacha8(uint16 *x) {
    /* by pointer: passing uint16 by value changes the ABI on AVX2-only CPUs (PoCL warns) */
    uint16 in = *x;
    uint4 a = in.s0123, b = in.s4567, c = in.s89ab, d = in.scdef;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        a += b; d = rotate(d ^ a, (uint4)16);
        c += d; b = rotate(b ^ c, (uint4)12);
        a += b; d = rotate(d ^ a, (uint4)8);
        c += d; b = rotate(b ^ c, (uint4)7);
        b = b.yzwx; c = c.zwxy; d = d.wxyz;
        a += b; d = rotate(d ^ a, (uint4)16);
        c += d; b = rotate(b ^ c, (uint4)12);
        a += b; d = rotate(d ^ a, (uint4)8);
        c += d; b = rotate(b ^ c, (uint4)7);
        b = b.wxyz; c = c.zwxy; d = d.yzwx;
    }
    *x = in + (uint16)(a, b, c, d);
}

/* scrypt BlockMix for r = 1: y0 = H(x1 ^ x0), y1 = H(y0 ^ x1). */
static void block_mix(uint16 *x0, uint16 *x1) {
    *x0 ^= *x1;
    chacha8(x0);
    *x1 ^= *x0;
    chacha8(x1);
}

static void romix(uint16 *x0, uint16 *x1, __global uint16 *v) {
    for (uint i = 0; i < SCRYPT_N; i++) {
        v[2 * i] = *x0;
        v[2 * i + 1] = *x1;
        block_mix(x0, x1);
    }
    for (uint i = 0; i < SCRYPT_N; i++) {
        uint j = (*x1).s0 & (SCRYPT_N - 1);
        *x0 ^= v[2 * j];
        *x1 ^= v[2 * j + 1];
        block_mix(x0, x1);
    }
}

/* ---- one label ------------------------------------------------------------------------------ */

static void lanes_to_words(const ulong l[8], uint16 *w) {
    *w = (uint16)(as_uint2(l[0]), as_uint2(l[1]), as_uint2(l[2]), as_uint2(l[3]),
                    as_uint2(l[4]), as_uint2(l[5]), as_uint2(l[6]), as_uint2(l[7]));
}

/* The full 32-byte scrypt output of label `index`, as 8 little-endian words. */
static uint8 scrypt_label(__constant const ulong *commitment, ulong index, __global uint16 *v) {
    ulong key[9] = {commitment[0], commitment[1], commitment[2], commitment[3], index, 0, 0, 0, 0};
    hmac_keys k;
    hmac_init(&k, key);

    ulong t[8];
    uint16 x0, x1;
    pbkdf2_empty_salt(&k, 1, t);
    lanes_to_words(t, &x0);
    pbkdf2_empty_salt(&k, 2, t);
    lanes_to_words(t, &x1);

    romix(&x0, &x1, v);

    ulong salt[16];
    ulong2 p;
    p = as_ulong2(x0.s0123); salt[0] = p.x; salt[1] = p.y;
    p = as_ulong2(x0.s4567); salt[2] = p.x; salt[3] = p.y;
    p = as_ulong2(x0.s89ab); salt[4] = p.x; salt[5] = p.y;
    p = as_ulong2(x0.scdef); salt[6] = p.x; salt[7] = p.y;
    p = as_ulong2(x1.s0123); salt[8] = p.x; salt[9] = p.y;
    p = as_ulong2(x1.s4567); salt[10] = p.x; salt[11] = p.y;
    p = as_ulong2(x1.s89ab); salt[12] = p.x; salt[13] = p.y;
    p = as_ulong2(x1.scdef); salt[14] = p.x; salt[15] = p.y;
    pbkdf2_salt128(&k, salt, t);
    return (uint8)(as_uint2(t[0]), as_uint2(t[1]), as_uint2(t[2]), as_uint2(t[3]));
}

/* ---- kernels -------------------------------------------------------------------------------- */

/* Labels start .. start+count-1; `words` is 4 (stored 16-byte labels) or 8 (full output). */
__kernel void labels(__constant const ulong *commitment, ulong start, uint count, uint words,
                     __global uint *out, __global uint16 *scratch) {
    uint gid = get_global_id(0);
    if (gid >= count)
        return;
    uint8 r = scrypt_label(commitment, start + gid, scratch + (size_t)gid * 2 * SCRYPT_N);
    __global uint *o = out + (size_t)gid * words;
    vstore4(r.s0123, 0, o);
    if (words == 8)
        vstore4(r.s4567, 1, o);
}

/* Labels at the given indices (verification samples); otherwise like `labels`. */
__kernel void labels_at(__constant const ulong *commitment, __global const ulong *indices,
                        uint count, uint words, __global uint *out, __global uint16 *scratch) {
    uint gid = get_global_id(0);
    if (gid >= count)
        return;
    uint8 r = scrypt_label(commitment, indices[gid], scratch + (size_t)gid * 2 * SCRYPT_N);
    __global uint *o = out + (size_t)gid * words;
    vstore4(r.s0123, 0, o);
    if (words == 8)
        vstore4(r.s4567, 1, o);
}

/* Byte-wise (lexicographic) order of little-endian words is numeric order after a byte swap. */
static uint8 big_endian_words(uint8 w) {
    return (w << 24) | ((w & 0xff00) << 8) | ((w >> 8) & 0xff00) | (w >> 24);
}

static int less_than(uint8 a, uint8 b) {
    uint av[8] = {a.s0, a.s1, a.s2, a.s3, a.s4, a.s5, a.s6, a.s7};
    uint bv[8] = {b.s0, b.s1, b.s2, b.s3, b.s4, b.s5, b.s6, b.s7};
    for (int i = 0; i < 8; i++) {
        if (av[i] != bv[i])
            return av[i] < bv[i];
    }
    return 0;
}

/* VRF nonce scan: work item g checks labels start+g, start+g+G, ... (G = global size) below
 * start+count and keeps the first smallest output under `difficulty` (8 big-endian words).
 * It writes only its candidate: best_index[g] (ULONG_MAX when none) and best_label[g]. */
__kernel void vrf_scan(__constant const ulong *commitment, ulong start, ulong count,
                       __constant const uint *difficulty, __global ulong *best_index,
                       __global uint *best_label, __global uint16 *scratch) {
    size_t gid = get_global_id(0);
    size_t gsize = get_global_size(0);
    __global uint16 *v = scratch + gid * 2 * SCRYPT_N;
    uint8 best = vload8(0, difficulty);
    uint8 best_le = (uint8)(0);
    ulong found = ULONG_MAX;
    for (ulong off = gid; off < count; off += gsize) {
        uint8 r = scrypt_label(commitment, start + off, v);
        uint8 be = big_endian_words(r);
        if (less_than(be, best)) {
            best = be;
            best_le = r;
            found = start + off;
        }
    }
    best_index[gid] = found;
    vstore8(best_le, gid, best_label);
}
