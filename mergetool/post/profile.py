"""Proving-speed profiler: time the data scan (AES + compare) over a file, like postcli's."""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import InvalidParameters, PostError
from mergetool._progress import ProgressCallback
from mergetool.post.difficulty import Difficulty, proving_difficulty
from mergetool.post.metadata import PostMetadata
from mergetool.post.params import check_threads
from mergetool.post.passes import InlinePasses, OwnPool, PassJob
from mergetool.post.scan import check_nonces

GIB = 1 << 30
MAX_PROFILE_GIB = 1 << 16
MAX_PROFILE_SECONDS = 7 * 24 * 3600
_CHUNK = 16 << 20  # write size when creating the throw-away data


@dataclass(frozen=True)
class ProfileResult:
    """Average scan speed over the passes that fitted in the requested duration."""

    time_s: float
    speed_gib_s: float
    passes: int
    bytes_scanned: int
    cache_dropped: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "format": 1,  # schemas/json/post-profile.schema.json
            "time_s": round(self.time_s, 3),
            "speed_gib_s": round(self.speed_gib_s, 4),
            "passes": self.passes,
            "cache_dropped": self.cache_dropped,
        }


def can_drop_cache() -> bool:
    """Whether this platform lets us evict a file's pages (posix_fadvise DONTNEED)."""
    return sys.platform.startswith("linux") and hasattr(os, "posix_fadvise")


def _ensure_file(path: Path, size: int) -> None:
    """Create ``path`` with ``size`` random bytes; an existing file is only ever read.

    The file may be someone's PoST data: appending to it would damage it for good.
    """
    if path.exists():
        have = path.stat().st_size
        if have < size:
            raise InvalidParameters(
                f"{path} holds {have} bytes, less than the {size} bytes to scan",
                hint="Pass a smaller `data_size_gib`, or a path that does not exist yet "
                "(it is then created with random data).",
            )
        return
    try:
        f = open(path, "xb")  # noqa: SIM115 - closed below, removed when incomplete
    except OSError as exc:
        raise PostError(f"cannot write benchmark data to {path}: {exc}") from exc
    try:
        with f:
            written = 0
            while written < size:
                n = min(_CHUNK, size - written)
                f.write(os.urandom(n))
                written += n
    except BaseException as exc:
        path.unlink(missing_ok=True)  # ours, and incomplete: a rerun must not meet it
        if isinstance(exc, OSError):
            raise PostError(f"cannot write benchmark data to {path}: {exc}") from exc
        raise


def profile(
    *,
    data_size_gib: float,
    duration: float,
    threads: int = 1,
    nonces: int = 128,
    data_file: Path | None = None,
    keep_cache: bool = False,
    progress: ProgressCallback | None = None,
) -> ProfileResult:
    """Scan ``data_size_gib`` of random labels with ``nonces`` nonces until ``duration`` s pass.

    Runs the very code ``prove`` runs (same chunking, same worker processes for ``threads``)
    over a throw-away data file, at mainnet-like odds so that no nonce ever wins.
    """
    size = check_profile(
        data_size_gib=data_size_gib, duration=duration, threads=threads, nonces=nonces
    )
    drop = not keep_cache and can_drop_cache()
    hard = proving_difficulty(4 << 32, 26)  # msb 0, rare lazy checks, as on mainnet
    pows = dict.fromkeys(range(nonces // 16), 0)
    return _run(size, duration, threads, pows, hard, data_file, drop, progress)


def check_profile(*, data_size_gib: float, duration: float, threads: int, nonces: int) -> int:
    """Refuse bad values before any work; the byte size to scan."""
    check_nonces(nonces)
    if not (math.isfinite(data_size_gib) and 0 < data_size_gib <= MAX_PROFILE_GIB):
        raise InvalidParameters(
            f"data size must be a number of GiB in (0, {MAX_PROFILE_GIB}], got {data_size_gib}"
        )
    if not (math.isfinite(duration) and 0 < duration <= MAX_PROFILE_SECONDS):
        raise InvalidParameters(
            f"duration must be a number of seconds in (0, {MAX_PROFILE_SECONDS}], got {duration}"
        )
    size = int(data_size_gib * GIB) // 16 * 16
    if size <= 0:
        raise InvalidParameters(f"data size {data_size_gib} GiB is less than one label")
    check_threads(threads)
    return size


def _run(
    size: int,
    duration: float,
    threads: int,
    pows: dict[int, int],
    hard: Difficulty,
    data_file: Path | None,
    drop: bool,
    progress: ProgressCallback | None,
) -> ProfileResult:
    with tempfile.TemporaryDirectory(prefix="mergetool-profile-") as tmp:
        data = Path(data_file) if data_file is not None else Path(tmp) / "data.bin"
        _ensure_file(data, size)
        # The scanner reads postdata_N.bin files: present the data file as the only one.
        (Path(tmp) / "postdata_0.bin").symlink_to(data.resolve())
        meta = PostMetadata(bytes(32), bytes(32), size // 16, 1, size)
        passes, elapsed = 0, 0.0
        job = PassJob(Path(tmp), meta, bytes(32), pows, hard, 1 << 62)
        try:
            with ExitStack() as stack, open(data, "rb") as f:
                runner = (
                    InlinePasses() if threads == 1 else stack.enter_context(OwnPool(threads)).passes
                )
                while elapsed < duration:
                    if drop:
                        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                    started = time.perf_counter()
                    runner.run(job, None, lambda: False)
                    elapsed += time.perf_counter() - started
                    passes += 1
                    if progress:  # in milliseconds of the requested duration
                        goal = int(duration * 1000)
                        progress(min(int(elapsed * 1000), goal), goal)
        except OSError as exc:
            raise PostError(f"cannot read {data}: {exc}") from exc
    return ProfileResult(elapsed, passes * size / GIB / elapsed, passes, passes * size, drop)
