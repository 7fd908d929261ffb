"""The proving hot loop: which labels of the data count for which nonces of a pass.

Per nonce group and chunk (1 MiB of labels): one OpenSSL AES-ECB call, one numpy compare
with ``msb`` and a search for the candidate bytes (``<= msb``; at mainnet difficulty msb
is 0, so 1 byte in 256). The ties (``== msb``) need their nonce's own "lazy" AES: their
labels are copied aside and checked a few chunks at a time, with one OpenSSL call per
nonce, so that the ~30 small numpy/OpenSSL calls of that check are paid per 4 MiB.
Everything per chunk or per batch works in preallocated buffers: besides the calls
themselves, what slowed the scan down most were temporaries large enough for malloc to
return them to the OS and fault them back in on every chunk.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from mergetool._exceptions import InvalidParameters
from mergetool._progress import ProgressCallback
from mergetool.post.cipher import group_cipher
from mergetool.post.difficulty import LSB_MASK, Difficulty
from mergetool.post.metadata import LABEL_SIZE, PostMetadata
from mergetool.post.reader import iter_chunks

# 1 MiB per read: per-chunk temporaries stay below malloc's mmap/trim thresholds (larger
# chunks measured slower for that reason, not for the cache).
CHUNK_LABELS = 1 << 16
TIE_BATCH_CHUNKS = 4  # chunks whose ties are checked together
# A tie is kept as one int32 sort key: nonce offset j (0..15) above its rank in the batch,
# so a batch holds < 2^26 ties: at most 16 per label (any data), flushed past 2^25.
_KEY_SHIFT = 26
MAX_CHUNK_LABELS = 1 << 21
_FLUSH_TIES = 1 << 25
_RANK_MASK = (1 << _KEY_SHIFT) - 1
_BUCKETS = np.arange(17, dtype=np.int32) << _KEY_SHIFT  # key range of each nonce offset
_LSB_MASK64 = np.uint64(LSB_MASK)
MAX_NONCES = 16 * 256  # group = nonce // 16 must fit in the k2pow input's one byte


def check_nonces(nonces: int) -> None:
    """Raise InvalidParameters unless a pass's ``nonces`` fill whole groups of 16."""
    if nonces < 16 or nonces % 16:
        raise InvalidParameters(f"nonces must be a positive multiple of 16, got {nonces}")
    if nonces > MAX_NONCES:
        raise InvalidParameters(
            f"nonces must be at most {MAX_NONCES} (nonce groups above 255 have no valid k2pow), "
            f"got {nonces}"
        )


def flag_words(cipher: np.ndarray, msb: int, mask: np.ndarray, words: np.ndarray) -> None:
    """``mask`` = bytes ``<= msb``; ``words[i]`` = any of mask's bytes ``8i .. 8i+7``.

    Two SIMD passes; a SWAR zero-byte test on uint64 words needs four and measured ~2x
    slower, folding rows with ``np.minimum.reduce`` slower still. With ``msb == 0``, mask
    may be ``cipher.view(bool)`` (overwriting the ciphertext in place).
    """
    if msb == 0:
        np.logical_not(cipher, out=mask)  # == 0, ~10 % faster than np.equal
    else:
        np.less_equal(cipher, msb, out=mask)
    np.not_equal(mask.view(np.uint64), 0, out=words)


def candidate_positions(mask: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Ascending positions of the set bytes of ``mask`` (``words`` as from ``flag_words``).

    ``len(words)`` must be a multiple of 8. numpy's nonzero on a bool array takes a
    branchy path below 10 % density (a mispredicted branch per hit) and a branchless one
    above: at 1 candidate in 256 bytes, 3 % of the words are set, but 22 % of the groups
    of 8 words, 14 % of the words in those and 12.5 % of the bytes of the set words. So
    three dense levels (each index is expanded 8x) beat one or two sparse ones.
    """
    packed = words.view(np.uint64)
    groups = (packed != 0).nonzero()[0]  # (nonzero on uint64 itself: ~10x slower)
    inner = packed[groups].view(np.bool_).nonzero()[0]
    hit_words = (groups << 3)[inner >> 3] | (inner & 7)
    inner = mask.view(np.uint64)[hit_words].view(np.bool_).nonzero()[0]
    return (hit_words << 3)[inner >> 3] | (inner & 7)


class Scratch:
    """Per-process chunk buffers, shared by the groups (they scan one after the other)."""

    def __init__(self, capacity: int) -> None:
        self.out = bytearray(capacity + 15)  # OpenSSL may want a block of slack
        self.cipher = np.frombuffer(self.out, dtype=np.uint8, count=capacity)
        self.mask = np.empty(capacity, dtype=bool)
        self.words = np.zeros(-(-capacity // 64) * 8, dtype=bool)  # whole uint64s
        self.block = np.empty(0, dtype=np.complex128)
        self.lazy_out = bytearray(15)

    def tie_buffers(self, count: int) -> tuple[np.ndarray, bytearray]:
        """Room for ``count`` tie labels regrouped by nonce, and for their AES."""
        if len(self.block) < count:
            self.block = np.empty(count + count // 4, dtype=np.complex128)
            self.lazy_out = bytearray(16 * len(self.block) + 15)
        return self.block[:count], self.lazy_out


class GroupScanner:
    """Scans chunks of labels for the 16 nonces of one group (with its k2pow).

    ``add`` each chunk in data order, then ``flush`` (also whenever ``add`` says so) to
    get the labels that count.
    """

    def __init__(
        self, challenge: bytes, group: int, pow_value: int, difficulty: Difficulty
    ) -> None:
        self.challenge, self.group, self.pow = challenge, group, pow_value
        self.msb, self.lsb = difficulty.msb, np.uint64(difficulty.lsb)
        # One encryptor per group and pass: ECB keeps no state between update calls.
        self.encryptor = group_cipher(challenge, group, pow_value).encryptor()
        self.lazy: list[Any] = [None] * 16
        self.chunks = 0
        self.ties = 0
        self.direct: list[np.ndarray] = []  # label*16 + j of bytes < msb (msb > 0 only)
        self.seq = self.where = np.empty(0)
        self._reserve(0)

    def _reserve(self, count: int) -> None:
        """Room for ``count`` ties: label copies, label*16 + j, sort keys (filled by flush)."""
        size = max(count + count // 4, 1 << 14)
        seq, where = np.empty(size, dtype=np.complex128), np.empty(size, dtype=np.int64)
        seq[: self.ties], where[: self.ties] = self.seq[: self.ties], self.where[: self.ties]
        self.seq, self.where = seq, where
        self.keys, self.rank = np.empty(size, dtype=np.int32), np.arange(size, dtype=np.int32)

    def _lazy(self, j: int) -> Any:
        if self.lazy[j] is None:
            nonce = 16 * self.group + j
            cipher = group_cipher(self.challenge, self.group, self.pow, nonce)
            self.lazy[j] = cipher.encryptor()
        return self.lazy[j]

    def add(self, labels: np.ndarray, first: int, scratch: Scratch) -> bool:
        """Scan the chunk of labels ``first ..``; True when the batch should be flushed."""
        size = len(labels)
        cipher, words = scratch.cipher[:size], scratch.words
        self.encryptor.update_into(labels, scratch.out)
        # With msb = 0 no ciphertext byte is needed after the compare: the mask overwrites
        # it (one MiB less passing through the cache, ~6 % faster overall).
        mask = cipher.view(np.bool_) if self.msb == 0 else scratch.mask[:size]
        used = -(-size // 64) * 8
        flag_words(cipher, self.msb, mask, words[: size // 8])
        if used > size // 8:  # a short chunk: no stale flags past its end
            words[size // 8 : used] = False
        pos = candidate_positions(mask, words[:used])
        if self.msb:  # tiny data sets only: with msb = 0 every candidate is a tie
            byte = cipher[pos]
            self.direct.append(pos[byte < self.msb] + 16 * first)
            pos = pos[byte == self.msb]
        start, end = self.ties, self.ties + len(pos)
        if end > len(self.seq):
            self._reserve(end)
        # Copy the tie labels now, in data order, while this chunk is still in the buffer.
        np.take(labels.view(np.complex128), pos >> 4, out=self.seq[start:end], mode="wrap")
        np.add(pos, 16 * first, out=self.where[start:end])
        self.ties, self.chunks = end, self.chunks + 1
        return self.chunks >= TIE_BATCH_CHUNKS or self.ties >= _FLUSH_TIES

    def flush(self, scratch: Scratch) -> tuple[np.ndarray, np.ndarray]:
        """``(nonces, label indices)`` that count since the last flush, by nonce then label."""
        count, self.ties, self.chunks = self.ties, 0, 0
        hits = self.where[:0]
        if count:
            keys = self.keys[:count]  # int32 in place: no large temporaries (see top)
            np.bitwise_and(self.where[:count], 15, out=keys, casting="unsafe")
            keys <<= _KEY_SHIFT
            keys |= self.rank[:count]
            keys.sort()  # by nonce offset, then rank (= data order); int32 sorts ~2x faster
            rank = keys & _RANK_MASK
            block, lazy_out = scratch.tie_buffers(count)
            np.take(self.seq, rank, out=block, mode="wrap")  # (mode "raise" copies first)
            src, dst = memoryview(block.view(np.uint8)), memoryview(lazy_out)
            bounds = np.searchsorted(keys, _BUCKETS).tolist()
            for j in range(16):  # one OpenSSL call per nonce
                start, end = bounds[j], bounds[j + 1]
                if end > start:
                    self._lazy(j).update_into(src[16 * start : 16 * end], dst[16 * start :])
            low = np.frombuffer(lazy_out, dtype="<u8", count=2 * count)[::2]
            passed = ((low & _LSB_MASK64) < self.lsb).nonzero()[0]
            hits = self.where[rank[passed]]
        if self.direct:
            hits = np.concatenate([hits, *self.direct])
            self.direct = []
        # Order by nonce offset, then label (j in the low 4 bits: one sort of a rotation).
        hits = np.sort((hits & 15) << 58 | hits >> 4)
        return 16 * self.group + (hits >> 58), hits & ((1 << 58) - 1)


Found = dict[int, list[int]]


def scan_range(
    directory: Path,
    meta: PostMetadata,
    challenge: bytes,
    pows: dict[int, int],
    difficulty: Difficulty,
    k2: int,
    span: tuple[int, int],
    chunk_labels: int,
    on_read: Callable[[int], None] | None = None,
) -> Found:
    """Per nonce, the first (up to k2) counting labels in ``span``; stops once one has k2.

    Stopping early is safe even for a later span: a nonce completing inside the span beats
    every nonce that would need labels past that point.
    """
    labels = max(1, min(chunk_labels, MAX_CHUNK_LABELS, span[1] - span[0]))
    buffer = np.empty(labels * LABEL_SIZE, dtype=np.uint8)
    scratch = Scratch(len(buffer))
    scanners = [GroupScanner(challenge, g, pows[g], difficulty) for g in sorted(pows)]
    found: Found = {}

    def flush() -> bool:
        complete = False
        for scanner in scanners:
            nonces, labels = scanner.flush(scratch)
            for nonce in sorted(set(nonces.tolist())):
                got = found.setdefault(nonce, [])
                if len(got) < k2:
                    got.extend(labels[nonces == nonce][: k2 - len(got)].tolist())
                    complete = complete or len(got) == k2
        return complete

    for first, chunk in iter_chunks(directory, meta, buffer, span[0], span[1], on_read):
        due = [scanner.add(chunk, first, scratch) for scanner in scanners]
        if any(due) and flush():
            return found
    flush()
    return found


def pick_winner(parts: list[Found], k2: int) -> tuple[int, list[int]] | None:
    """Merge per-span results (in data order): the nonce whose k2-th label comes first."""
    merged: Found = {}
    for part in parts:
        for nonce, got in part.items():
            merged.setdefault(nonce, []).extend(got)
    complete = [(got[k2 - 1], nonce) for nonce, got in merged.items() if len(got) >= k2]
    if not complete:
        return None
    _, nonce = min(complete)
    return nonce, merged[nonce][:k2]


_progress_counter: Any = None


def _init_worker(counter: Any) -> None:
    global _progress_counter
    _progress_counter = counter


def _count(n: int) -> None:
    with _progress_counter.get_lock():
        _progress_counter.value += n


def _warm_up() -> None:
    time.sleep(0.05)  # long enough that every worker gets one, so all start now


def _scan_range_in_worker(*args: Any) -> Found:
    return scan_range(*args, on_read=_count)


class PassRunner:
    """Runs passes over the data: in-process for one worker, else one process per span.

    Processes (not threads) because most of the per-chunk numpy work is small calls that
    hold the GIL; each process reads and scans a contiguous span of labels.
    """

    def __init__(
        self,
        directory: Path,
        meta: PostMetadata,
        challenge: bytes,
        difficulty: Difficulty,
        k2: int,
        workers: int,
        chunk_labels: int = CHUNK_LABELS,
    ) -> None:
        self.directory, self.meta, self.challenge = directory, meta, challenge
        self.difficulty, self.k2, self.chunk_labels = difficulty, k2, chunk_labels
        self.workers = max(1, min(workers, meta.num_labels // max(1, chunk_labels) or 1))
        self.pool: Any = None
        self.counter: Any = None

    def __enter__(self) -> PassRunner:
        if self.workers > 1:
            ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent
            self.counter = ctx.Value("Q", 0)
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init_worker, initargs=(self.counter,)
            )
            # Start (and import numpy etc. in) every worker before the first timed pass.
            for future in [self.pool.submit(_warm_up) for _ in range(self.workers)]:
                future.result()
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self.pool is None:
            return
        if exc_type is None:
            self.pool.shutdown(cancel_futures=True)
            return
        # Interrupted (SIGTERM, Ctrl-C, an error): end the workers now instead of waiting for
        # their spans. ``_processes`` is CPython's; Python 3.14 adds terminate_workers().
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)

    def run(self, pows: dict[int, int], progress: ProgressCallback | None) -> Any:
        """One pass with ``pows`` (group -> k2pow): ``(nonce, indices)`` or None."""
        total = self.meta.num_labels * LABEL_SIZE
        common = (self.directory, self.meta, self.challenge, pows, self.difficulty, self.k2)
        if self.pool is None:
            position = 0

            def on_read(n: int) -> None:
                nonlocal position
                position += n
                if progress:
                    progress(position, total)

            whole = (0, self.meta.num_labels)
            return pick_winner([scan_range(*common, whole, self.chunk_labels, on_read)], self.k2)
        cuts = [self.meta.num_labels * i // self.workers for i in range(self.workers + 1)]
        self.counter.value = 0
        futures = [
            self.pool.submit(_scan_range_in_worker, *common, (lo, hi), self.chunk_labels)
            for lo, hi in zip(cuts, cuts[1:], strict=False)
        ]
        while wait(futures, timeout=0.2).not_done:
            if progress:
                progress(self.counter.value, total)
        if progress:
            progress(self.counter.value, total)
        return pick_winner([f.result() for f in futures], self.k2)
