"""The proving hot loop: which labels of a chunk count for which nonces of a pass.

Per nonce group and chunk: one OpenSSL AES-ECB call and one numpy compare against ``msb``.
A scanner may own several groups (their ciphertexts share one buffer), but one group per
scanner keeps the buffer in L2 and measured fastest. Candidate bytes are rare (1 in 256
at mainnet difficulty), so they are found word-wise first; ties with ``msb`` get the
nonce's own AES with one OpenSSL call per nonce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mergetool._exceptions import PostError, ProvingFailed
from mergetool.post.metadata import LABEL_SIZE, PostMetadata, data_file_name

LSB_MASK = (1 << 56) - 1
CHUNK_LABELS = 1 << 16  # 1 MiB of labels per read: small enough to stay in cache per group
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


def iter_chunks(
    directory: Path,
    meta: PostMetadata,
    buffer: np.ndarray,
    start: int = 0,
    stop: int | None = None,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_label, labels)`` for labels ``start .. stop-1``, read into ``buffer``."""
    stop = meta.num_labels if stop is None else stop
    capacity = len(buffer) // LABEL_SIZE
    per_file = meta.labels_per_file
    for index in range(start // per_file, -(-stop // per_file)):
        first, count = meta.file_labels(index)
        lo, hi = max(start, first), min(stop, first + count)
        path = directory / data_file_name(index)
        try:
            with open(path, "rb", buffering=0) as f:
                f.seek((lo - first) * LABEL_SIZE)
                while lo < hi:
                    n = min(capacity, hi - lo)
                    view = memoryview(buffer)[: n * LABEL_SIZE]
                    got = 0
                    while got < len(view):
                        more = f.readinto(view[got:])
                        if not more:
                            raise ProvingFailed(f"{path} ended early at label {lo - first}")
                        got += more
                    if on_read:
                        on_read(n * LABEL_SIZE)
                    yield lo, buffer[: n * LABEL_SIZE]
                    lo += n
        except FileNotFoundError as exc:
            raise ProvingFailed(f"{path} is missing", hint="Initialization is incomplete.") from exc
        except OSError as exc:
            raise PostError(f"cannot read {path}: {exc}") from exc


Found = dict[int, list[int]]


def scan_range(
    directory: Path,
    meta: PostMetadata,
    challenge: bytes,
    pows: dict[int, int],
    difficulty: tuple[int, int],
    k2: int,
    span: tuple[int, int],
    chunk_labels: int,
    on_read: Callable[[int], None] | None = None,
) -> Found:
    """Per nonce, the first (up to k2) counting labels in ``span``; stops once one has k2.

    Stopping early is safe even for a later span: a nonce completing inside the span beats
    every nonce that would need labels past that point.
    """
    msb, lsb = difficulty
    buffer = np.empty(max(1, min(chunk_labels, span[1] - span[0])) * LABEL_SIZE, dtype=np.uint8)
    # One scanner per group: a single group's ciphertext (1 MiB) stays in L2 while it is
    # searched; batching groups into one buffer measured slower.
    scanners = [PassScanner(challenge, {g: pows[g]}, msb, lsb, len(buffer)) for g in sorted(pows)]
    found: Found = {}
    for first, chunk in iter_chunks(directory, meta, buffer, span[0], span[1], on_read):
        complete = False
        for scanner in scanners:
            nonces, offsets = scanner.scan(chunk)
            for nonce in sorted(set(nonces.tolist())):
                got = found.setdefault(nonce, [])
                if len(got) < k2:
                    got.extend((offsets[nonces == nonce][: k2 - len(got)] + first).tolist())
                    complete = complete or len(got) == k2
        if complete:
            break
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
    import time

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
        difficulty: tuple[int, int],
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
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent
            self.counter = ctx.Value("Q", 0)
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init_worker, initargs=(self.counter,)
            )
            # Start (and import numpy etc. in) every worker before the first timed pass.
            for future in [self.pool.submit(_warm_up) for _ in range(self.workers)]:
                future.result()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def run(self, pows: dict[int, int], progress: Callable[[int, int], None] | None) -> Any:
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
        from concurrent.futures import wait

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
