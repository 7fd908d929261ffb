"""Proving-speed profiler: time the data scan (AES + compare) over a file, like postcli's."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import InvalidParameters, PostError

Progress = Callable[[int, int], None]
GIB = 1 << 30
_CHUNK = 1 << 20  # small enough to stay in L2 while every group encrypts it


@dataclass(frozen=True)
class ProfileResult:
    """Average scan speed over the passes that fitted in the requested duration."""

    time_s: float
    speed_gib_s: float
    passes: int
    bytes_scanned: int
    cache_dropped: bool

    def to_json(self) -> dict[str, object]:
        return {
            "time_s": round(self.time_s, 3),
            "speed_gib_s": round(self.speed_gib_s, 4),
            "passes": self.passes,
            "cache_dropped": self.cache_dropped,
        }


def can_drop_cache() -> bool:
    """Whether this platform lets us evict a file's pages (posix_fadvise DONTNEED)."""
    return sys.platform.startswith("linux") and hasattr(os, "posix_fadvise")


def _ensure_file(path: Path, size: int) -> None:
    have = path.stat().st_size if path.exists() else 0
    if have >= size:
        return
    try:
        with open(path, "ab") as f:
            while have < size:
                n = min(_CHUNK, size - have)
                f.write(os.urandom(n))
                have += n
    except OSError as exc:
        raise PostError(f"cannot write benchmark data to {path}: {exc}") from exc


def profile(
    *,
    data_size_gib: float,
    duration: float,
    threads: int = 1,
    nonces: int = 128,
    data_file: Path | None = None,
    keep_cache: bool = False,
    progress: Progress | None = None,
) -> ProfileResult:
    """Scan ``data_size_gib`` of random labels with ``nonces`` nonces until ``duration`` s pass."""
    import numpy as np

    from mergetool.post.difficulty import proving_difficulty
    from mergetool.post.scan import PassScanner

    if nonces < 16 or nonces % 16:
        raise InvalidParameters(f"nonces must be a positive multiple of 16, got {nonces}")
    size = int(data_size_gib * GIB) // 16 * 16
    if size <= 0 or duration <= 0:
        raise InvalidParameters("data size and duration must be positive")
    tmp = None
    if data_file is None:
        fd, name = tempfile.mkstemp(prefix="mergetool-profile-", suffix=".bin")
        os.close(fd)
        tmp = data_file = Path(name)
    data_file = Path(data_file)
    drop = not keep_cache and can_drop_cache()
    groups = list(range(nonces // 16))
    buffer = np.empty(min(_CHUNK, size), dtype=np.uint8)
    # Mainnet-like odds (4 units of 2^32 labels, k1 = 26): msb 0, rare lazy checks.
    hard = proving_difficulty(4 << 32, 26)
    scanners = [PassScanner(bytes(32), {g: 0}, hard.msb, hard.lsb, len(buffer)) for g in groups]
    try:
        _ensure_file(data_file, size)
        passes = 0
        scanned = 0
        elapsed = 0.0
        with ThreadPoolExecutor(max(1, threads)) as pool, open(data_file, "rb", buffering=0) as f:
            while elapsed < duration:
                if drop:
                    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                f.seek(0)
                started = time.perf_counter()
                done = 0
                while done < size:
                    n = f.readinto(memoryview(buffer)[: min(len(buffer), size - done)])
                    if not n:
                        break
                    chunk = buffer[:n]
                    if threads <= 1:
                        for scanner in scanners:
                            scanner.scan(chunk)
                    else:
                        list(pool.map(lambda s, c=chunk: s.scan(c), scanners))
                    done += n
                    if progress:
                        progress(
                            min(
                                int((elapsed + time.perf_counter() - started) * 1000),
                                int(duration * 1000),
                            ),
                            int(duration * 1000),
                        )
                elapsed += time.perf_counter() - started
                scanned += done
                passes += 1
    except OSError as exc:
        raise PostError(f"cannot read {data_file}: {exc}") from exc
    finally:
        if tmp is not None:
            data_file.unlink(missing_ok=True)
    return ProfileResult(elapsed, scanned / GIB / elapsed, passes, scanned, drop)
