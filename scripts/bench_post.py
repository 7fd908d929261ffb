"""PoST benchmarks (not tests): numpy label speed, proving scan speed, mainnet verification.

    python scripts/bench_post.py labels  [--n 8192] [--count 1024]
    python scripts/bench_post.py proving [--size-gib 1] [--duration 10] [--keep-cache]
                                         [--nonces 16,64,128] [--threads 1,2] [--repeat 3]
    python scripts/bench_post.py scan-core [--mib 32] [--groups 8] [--repeat 5]
    python scripts/bench_post.py verify
    python scripts/bench_post.py openssl

Run single-core figures under ``taskset -c 0``. Prints one JSON object per measurement.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import click


def _emit(**doc: object) -> None:
    click.echo(json.dumps(doc))


@click.group()
def main() -> None:
    """PoST benchmarks."""


@main.command()
@click.option("--n", "scrypt_n", default=8192, show_default=True)
@click.option("--count", default=1024, show_default=True, help="Labels (one batch at 1 GiB).")
def labels(scrypt_n: int, count: int) -> None:
    """numpy labels per second at scrypt N."""
    from mergetool.post.labels import compute_labels

    started = time.perf_counter()
    compute_labels(bytes(32), 0, count, scrypt_n=scrypt_n, backend="numpy")
    elapsed = time.perf_counter() - started
    _emit(bench="labels", scrypt_n=scrypt_n, count=count, seconds=round(elapsed, 2),
          labels_per_s=round(count / elapsed, 1))  # fmt: skip


@main.command()
@click.option("--size-gib", default=1.0, show_default=True)
@click.option("--duration", default=10.0, show_default=True)
@click.option("--keep-cache", is_flag=True)
@click.option("--nonces", "nonce_list", default="16,64,128", show_default=True)
@click.option("--threads", "thread_list", default="1,2", show_default=True)
@click.option("--repeat", default=1, show_default=True, help="Runs per setting: best and median.")
def proving(
    size_gib: float, duration: float, keep_cache: bool, nonce_list: str, thread_list: str,
    repeat: int,
) -> None:  # fmt: skip
    """Scan speed per nonces/threads, with openssl's single-core AES-ECB speed of this run.

    ``pct_of_openssl`` is the per-group speed (GiB/s x nonces / 16) against openssl measured
    just before and after (their mean): the issue's target is 35 % on one thread.
    """
    import statistics
    import tempfile

    from mergetool.post.profile import profile

    before = openssl_gib_s()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "bench.bin")
        for nonces in (int(x) for x in nonce_list.split(",")):
            for threads in (int(x) for x in thread_list.split(",")):
                speeds = [
                    profile(data_size_gib=size_gib, duration=duration, threads=threads,
                            nonces=nonces, data_file=data, keep_cache=keep_cache).speed_gib_s
                    for _ in range(repeat)
                ]  # fmt: skip
                rows.append((nonces, threads, speeds, _loadavg()))
    after = openssl_gib_s()
    aes = (before + after) / 2
    _emit(bench="openssl", aes_128_ecb_gib_s_before=round(before, 3),
          aes_128_ecb_gib_s_after=round(after, 3))  # fmt: skip
    for nonces, threads, speeds, load in rows:
        best, median = max(speeds), statistics.median(speeds)
        _emit(bench="proving", nonces=nonces, threads=threads, keep_cache=keep_cache,
              speed_gib_s=round(median, 3), per_group_gib_s_best=round(best * nonces / 16, 3),
              per_group_gib_s_median=round(median * nonces / 16, 3),
              pct_of_openssl_best=round(100 * best * nonces / 16 / aes, 1),
              pct_of_openssl_median=round(100 * median * nonces / 16 / aes, 1),
              runs=len(speeds), loadavg=load)  # fmt: skip


@main.command("scan-core")
@click.option("--mib", default=32, show_default=True, help="MiB of random labels, in memory.")
@click.option("--groups", default=8, show_default=True, help="Nonce groups (nonces / 16).")
@click.option("--repeat", default=5, show_default=True)
def scan_core(mib: int, groups: int, repeat: int) -> None:
    """The scan's compute alone: µs per MiB and nonce group, no file, no worker process.

    Mainnet difficulty (msb 0). Fresh random data per chunk, as on disk: a repeated chunk
    lets the CPU learn the branches of numpy's sparse paths and flatters the figure.
    """
    import numpy as np

    from mergetool.post.difficulty import proving_difficulty
    from mergetool.post.scan import CHUNK_LABELS, GroupScanner, Scratch

    difficulty = proving_difficulty(4 << 32, 26)
    data = np.random.default_rng(1).integers(0, 256, mib << 20, dtype=np.uint8)
    chunk = CHUNK_LABELS * 16
    before = openssl_gib_s(1)
    runs = []
    for _ in range(repeat):
        scratch, buf = Scratch(chunk), np.empty(chunk, dtype=np.uint8)
        scanners = [GroupScanner(bytes(32), g, 1, difficulty) for g in range(groups)]
        started = time.perf_counter()
        for offset in range(0, len(data), chunk):
            buf[:] = data[offset : offset + chunk]
            for scanner in scanners:
                if scanner.add(buf, offset // 16, scratch):
                    scanner.flush(scratch)
        for scanner in scanners:
            scanner.flush(scratch)
        runs.append((time.perf_counter() - started) / (mib * groups) * 1e6)
    aes = (before + openssl_gib_s(1)) / 2
    best = min(runs)
    best_gib_s = (1 << 20) / (best * 1e-6) / (1 << 30)
    _emit(bench="scan-core", groups=groups, us_per_mib_group_best=round(best, 1),
          us_per_mib_group_median=round(sorted(runs)[len(runs) // 2], 1),
          aes_128_ecb_gib_s=round(aes, 3),
          pct_of_openssl_best=round(100 * best_gib_s / aes, 1))  # fmt: skip


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def openssl_gib_s(seconds: int = 3) -> float:
    """Single-core ``openssl speed -evp aes-128-ecb`` on 16 KiB blocks, in GiB/s."""
    out = subprocess.run(
        ["openssl", "speed", "-evp", "aes-128-ecb", "-bytes", "16384", "-seconds", str(seconds)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.lower().startswith("aes-128-ecb"))
    return float(line.split()[-1].rstrip("k")) * 1000 / (1 << 30)


@main.command()
def verify() -> None:
    """Where mainnet verification time goes (k2 = 37, k3 = 1, light RandomX, N = 8192)."""
    from mergetool.post.backends.numpy_backend import NumpyBackend
    from mergetool.post.pow import randomx_hash

    t0 = time.perf_counter()
    randomx_hash(bytes(48))  # includes the light cache (256 MiB) initialisation
    t1 = time.perf_counter()
    randomx_hash(bytes(47) + b"\x01")
    t2 = time.perf_counter()
    backend = NumpyBackend()
    backend.compute_labels_at(bytes(32), [123456789], 8192, False)
    t3 = time.perf_counter()
    backend.compute_labels_at(bytes(32), list(range(0, 37 * 1000, 1000)), 8192, False)
    t4 = time.perf_counter()
    _emit(bench="verify", randomx_light_first_s=round(t1 - t0, 2),
          randomx_light_hash_s=round(t2 - t1, 3), one_label_s=round(t3 - t2, 2),
          k2_labels_s=round(t4 - t3, 2),
          mainnet_k3_total_s=round(t2 - t0 + t3 - t2, 2),
          mainnet_all_k2_total_s=round(t1 - t0 + t4 - t3, 2))  # fmt: skip


@main.command()
def openssl() -> None:
    """Single-core ``openssl speed -evp aes-128-ecb`` (16 KiB blocks) for comparison."""
    _emit(bench="openssl", aes_128_ecb_gib_s=round(openssl_gib_s(), 3))


if __name__ == "__main__":
    main()
