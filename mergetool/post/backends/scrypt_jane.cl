/*
 * scrypt-jane labels for Spacemesh PoST, written from docs in ../shared/spec/post.md:
 *   label(i) = scrypt(P = commitment || u64le(i) || 0^32, S = "", N, r = 1, p = 1, dkLen = 32)
 * with Keccak-512 (original padding 0x01, rate 72 bytes) inside HMAC/PBKDF2 and ChaCha20/8 as
 * the mixing function. One work item computes LANES labels side by side (their ChaCha rows packed
 * into one vector, so a CPU runs LANES independent chains per instruction: more SIMD width and
 * more memory reads in flight) and owns LANES * N * 128 bytes of `scratch`.
 *
 * Build options: -D SCRYPT_N=<power of two >= 2>, -D LANES=<1 or 4> (default 1, for GPUs).
 */

#ifndef SCRYPT_N
#error "SCRYPT_N must be defined"
#endif
#ifndef LANES
#define LANES 1
#endif
#if LANES != 1 && LANES != 4
#error "LANES must be 1 or 4"
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

/* A 64-byte block is four rows of four words; with LANES = 4 a row vector holds the same row of
 * four labels. The diagonal round turns rows b, c, d left by 1, 2, 3 words within each label. */
#if LANES == 4
typedef uint16 row_t;
#define TURN1(v) (v).s123056749ab8defc
#define TURN2(v) (v).s23016745ab89efcd
#define TURN3(v) (v).s30127456b89afcde
#define GATHER(q, sel) (row_t)(q[0].sel, q[1].sel, q[2].sel, q[3].sel)
#else
typedef uint4 row_t;
#define TURN1(v) (v).yzwx
#define TURN2(v) (v).zwxy
#define TURN3(v) (v).wxyz
#define GATHER(q, sel) (q[0].sel)
#endif

/* Shifts, not rotate(): for 16-wide vectors PoCL makes rotate() a library call on AVX2 CPUs. */
#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))

#define QUARTER_ROUNDS(a, b, c, d)                                                                 \
    a += b; d = ROTL(d ^ a, 16);                                                                   \
    c += d; b = ROTL(b ^ c, 12);                                                                   \
    a += b; d = ROTL(d ^ a, 8);                                                                    \
    c += d; b = ROTL(b ^ c, 7);

/* ChaCha core (8 rounds plus feed-forward) on one block of each lane, in place. */
static void chacha8(uint16 blk[LANES]) {
    row_t a = GATHER(blk, s0123), b = GATHER(blk, s4567);
    row_t c = GATHER(blk, s89ab), d = GATHER(blk, scdef);
    for (int i = 0; i < 4; i++) {
        QUARTER_ROUNDS(a, b, c, d)
        b = TURN1(b); c = TURN2(c); d = TURN3(d);
        QUARTER_ROUNDS(a, b, c, d)
        b = TURN3(b); c = TURN2(c); d = TURN1(d);
    }
#if LANES == 4
    blk[0] += (uint16)(a.s0123, b.s0123, c.s0123, d.s0123);
    blk[1] += (uint16)(a.s4567, b.s4567, c.s4567, d.s4567);
    blk[2] += (uint16)(a.s89ab, b.s89ab, c.s89ab, d.s89ab);
    blk[3] += (uint16)(a.scdef, b.scdef, c.scdef, d.scdef);
#else
    blk[0] += (uint16)(a, b, c, d);
#endif
}

/* scrypt BlockMix for r = 1 (x0 = H(x0 ^ x1), then x1 = H(x1 ^ x0)), per lane. */
static void block_mix(uint16 x0[LANES], uint16 x1[LANES]) {
    for (int l = 0; l < LANES; l++)
        x0[l] ^= x1[l];
    chacha8(x0);
    for (int l = 0; l < LANES; l++)
        x1[l] ^= x0[l];
    chacha8(x1);
}

/* Lane l keeps its N two-block entries at v[2 * (l * N + i)]. */
static void romix(uint16 x0[LANES], uint16 x1[LANES], __global uint16 *v) {
    for (uint i = 0; i < SCRYPT_N; i++) {
        for (int l = 0; l < LANES; l++) {
            v[2 * (l * SCRYPT_N + i)] = x0[l];
            v[2 * (l * SCRYPT_N + i) + 1] = x1[l];
        }
        block_mix(x0, x1);
    }
    for (uint i = 0; i < SCRYPT_N; i++) {
        for (int l = 0; l < LANES; l++) {
            uint j = x1[l].s0 & (SCRYPT_N - 1);
            x0[l] ^= v[2 * (l * SCRYPT_N + j)];
            x1[l] ^= v[2 * (l * SCRYPT_N + j) + 1];
        }
        block_mix(x0, x1);
    }
}

/* ---- labels --------------------------------------------------------------------------------- */

static void password_keys(hmac_keys *k, __constant const ulong *commitment, ulong index) {
    ulong key[9] = {commitment[0], commitment[1], commitment[2], commitment[3], index, 0, 0, 0, 0};
    hmac_init(k, key);
}

static void lanes_to_words(const ulong t[8], uint16 *w) {
    *w = (uint16)(as_uint2(t[0]), as_uint2(t[1]), as_uint2(t[2]), as_uint2(t[3]),
                  as_uint2(t[4]), as_uint2(t[5]), as_uint2(t[6]), as_uint2(t[7]));
}

static void words_to_lanes(const uint16 *words, ulong *t) {
    uint16 w = *words; /* by pointer: a uint16 argument changes the ABI on AVX2-only CPUs */
    t[0] = as_ulong(w.s01); t[1] = as_ulong(w.s23); t[2] = as_ulong(w.s45);
    t[3] = as_ulong(w.s67); t[4] = as_ulong(w.s89); t[5] = as_ulong(w.sab);
    t[6] = as_ulong(w.scd); t[7] = as_ulong(w.sef);
}

/* Full 32-byte scrypt outputs (8 little-endian words) of the labels `index[0..LANES-1]`. */
static void scrypt_labels(__constant const ulong *commitment, const ulong index[LANES],
                          __global uint16 *v, uint8 out[LANES]) {
    uint16 x0[LANES], x1[LANES];
    ulong t[8];
    for (int l = 0; l < LANES; l++) {
        hmac_keys k;
        password_keys(&k, commitment, index[l]);
        pbkdf2_empty_salt(&k, 1, t);
        lanes_to_words(t, &x0[l]);
        pbkdf2_empty_salt(&k, 2, t);
        lanes_to_words(t, &x1[l]);
    }
    romix(x0, x1, v);
    for (int l = 0; l < LANES; l++) {
        /* Re-deriving the two HMAC states costs two permutations; keeping LANES of them alive
         * across ROMix would cost registers on GPUs. */
        hmac_keys k;
        ulong salt[16];
        password_keys(&k, commitment, index[l]);
        words_to_lanes(&x0[l], salt);
        words_to_lanes(&x1[l], salt + 8);
        pbkdf2_salt128(&k, salt, t);
        out[l] = (uint8)(as_uint2(t[0]), as_uint2(t[1]), as_uint2(t[2]), as_uint2(t[3]));
    }
}

static void store_label(__global uint *out, size_t at, uint words, uint8 r) {
    __global uint *o = out + at * words;
    vstore4(r.s0123, 0, o);
    if (words == 8)
        vstore4(r.s4567, 1, o);
}

/* ---- kernels -------------------------------------------------------------------------------- */

/* Labels start .. start+count-1, LANES per work item; `words` is 4 (stored 16-byte labels) or 8
 * (full output). Lanes past the end repeat the last label and are not written. */
__kernel void labels(__constant const ulong *commitment, ulong start, uint count, uint words,
                     __global uint *out, __global uint16 *scratch) {
    uint base = get_global_id(0) * LANES;
    if (base >= count)
        return;
    ulong index[LANES];
    uint8 r[LANES];
    for (int l = 0; l < LANES; l++)
        index[l] = start + min(base + l, count - 1);
    scrypt_labels(commitment, index, scratch + (size_t)get_global_id(0) * 2 * LANES * SCRYPT_N, r);
    for (int l = 0; l < LANES; l++)
        if (base + l < count)
            store_label(out, base + l, words, r[l]);
}

/* Labels at the given indices (verification samples); otherwise like `labels`. */
__kernel void labels_at(__constant const ulong *commitment, __global const ulong *indices,
                        uint count, uint words, __global uint *out, __global uint16 *scratch) {
    uint base = get_global_id(0) * LANES;
    if (base >= count)
        return;
    ulong index[LANES];
    uint8 r[LANES];
    for (int l = 0; l < LANES; l++)
        index[l] = indices[min(base + l, count - 1)];
    scrypt_labels(commitment, index, scratch + (size_t)get_global_id(0) * 2 * LANES * SCRYPT_N, r);
    for (int l = 0; l < LANES; l++)
        if (base + l < count)
            store_label(out, base + l, words, r[l]);
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

/* VRF nonce scan: work item g checks labels at offsets g*LANES, then G*LANES further on
 * (G = global size), below `count`, and keeps the first smallest output under `difficulty`
 * (8 big-endian words). It writes only that candidate: best_index[g] (ULONG_MAX when none)
 * and best_label[g], so the host reads back 40 bytes per work item instead of every label. */
__kernel void vrf_scan(__constant const ulong *commitment, ulong start, ulong count,
                       __constant const uint *difficulty, __global ulong *best_index,
                       __global uint *best_label, __global uint16 *scratch) {
    size_t gid = get_global_id(0);
    size_t stride = get_global_size(0) * LANES;
    __global uint16 *v = scratch + gid * 2 * LANES * SCRYPT_N;
    uint8 best = vload8(0, difficulty);
    uint8 best_le = (uint8)(0);
    ulong found = ULONG_MAX;
    ulong index[LANES];
    uint8 r[LANES];
    for (ulong off = gid * LANES; off < count; off += stride) {
        for (int l = 0; l < LANES; l++)
            index[l] = start + min(off + l, count - 1);
        scrypt_labels(commitment, index, v, r);
        for (int l = 0; l < LANES; l++) {
            uint8 be = big_endian_words(r[l]);
            if (off + l < count && less_than(be, best)) {
                best = be;
                best_le = r[l];
                found = start + off + l;
            }
        }
    }
    best_index[gid] = found;
    vstore8(best_le, gid, best_label);
}

/* Labels and VRF candidates in one pass (initialization): like `labels` with 16-byte labels,
 * and each work item also keeps the first smallest full output of its LANES labels that is
 * below `difficulty` (8 big-endian words). It writes that label's offset in this launch to
 * cand_offset[g] (UINT_MAX when none) and its upper 16 bytes to cand_high[g]: the lower 16 are
 * the stored label, so the host copies back 16 bytes per label and 4 per work item, and the
 * upper halves only when some work item found a candidate. */
__kernel void labels_vrf(__constant const ulong *commitment, ulong start, uint count,
                         __constant const uint *difficulty, __global uint *out,
                         __global uint *cand_offset, __global uint4 *cand_high,
                         __global uint16 *scratch) {
    size_t gid = get_global_id(0);
    uint base = gid * LANES;
    if (base >= count)
        return;
    ulong index[LANES];
    uint8 r[LANES];
    for (int l = 0; l < LANES; l++)
        index[l] = start + min(base + l, count - 1);
    scrypt_labels(commitment, index, scratch + gid * 2 * LANES * SCRYPT_N, r);
    uint8 best = vload8(0, difficulty);
    uint found = UINT_MAX;
    uint4 high = (uint4)(0);
    for (int l = 0; l < LANES; l++) {
        if (base + l >= count)
            break;
        store_label(out, base + l, 4, r[l]);
        uint8 be = big_endian_words(r[l]);
        if (less_than(be, best)) {
            best = be;
            high = r[l].s4567;
            found = base + l;
        }
    }
    cand_offset[gid] = found;
    cand_high[gid] = high;
}
