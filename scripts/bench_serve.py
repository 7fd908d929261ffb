"""Benchmarks of ``mergetool serve`` against the tests' node stand-in (figures: docs/benchmarks.md).

    python scripts/bench_serve.py memory [--identities 8] [--randomx-mode fast]
    python scripts/bench_serve.py throughput [--identities 4] [--labels-per-unit 65536]
    python scripts/bench_serve.py soak [--identities 8] [--rounds 20] [--remote-k2pow]

memory: one ``mergetool serve`` process for N identities (tiny test-preset data, a k2pow
hard enough to keep RandomX busy for a while); the whole process tree's PSS (from
/proc/*/smaps_rollup) idle, at its peak while every identity proves, and after the proofs.

throughput: N identities on one disk, all asked at once, against ``mergetool post prove``
for each one after the other (page cache dropped before each run); wall time, and the share
of the time the block device was busy (io_ticks of /proc/diskstats: other I/O on the
machine counts too).

soak: N identities, R rounds of challenges (all asked at once, a new challenge per round);
during each round the node stand-in (and with --remote-k2pow a ``mergetool k2pow-service``)
is restarted at a random moment. Reports rounds delivered, ERROR answers, the process tree
and open file descriptors of serve after the first and the last round (a leak grows them),
and the peak PSS of the tree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "serve"))

from node_standin import NodeStandin  # noqa: E402

from mergetool.post.initialize import execute_init, plan_init  # noqa: E402
from mergetool.post.params import PRESETS  # noqa: E402

CHALLENGE = bytes(range(32))
ATX = bytes(range(32, 64))
MIB = 1 << 20


def node_id(i: int) -> bytes:
    return bytes([i + 1]) * 32


def make_data(root: Path, count: int, labels_per_unit: int, units: int) -> list[Path]:
    folders = []
    for i in range(count):
        folder = root / f"id{i}"
        plan = plan_init(
            folder, node_id=node_id(i), commitment_atx_id=ATX, num_units=units,
            labels_per_unit=labels_per_unit, scrypt_n=2, max_file_size=labels_per_unit * 16,
            vrf_difficulty=b"\xff" * 32,
        )  # fmt: skip
        execute_init(plan, backend="numpy")
        folders.append(folder)
    return folders


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def pss_bytes(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def memory(args: argparse.Namespace) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    folders = make_data(root, args.identities, 256, 2)
    node = NodeStandin(poll_interval_s=0.5).start()
    cmd = [
        sys.executable, "-c", "from mergetool.cli.main import main; main()", "serve",
        "--preset", "test", "--address", node.address, "--randomx-mode", args.randomx_mode,
        "--pow-difficulty", args.pow_difficulty, "--nonces", "16", "--threads", str(args.threads),
        *[x for f in folders for x in ("--dir", str(f))],
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    try:
        ids = [node_id(i) for i in range(args.identities)]
        node.wait_connected(ids, timeout=60)
        time.sleep(2)
        idle = pss_bytes(proc.pid)
        started = time.monotonic()
        for i in ids:
            node.request_proof(i, CHALLENGE)
        peak, done = 0, 0
        while done < len(ids):
            peak = max(peak, pss_bytes(proc.pid))
            done = sum(node.identity(i).outcome is not None for i in ids)
            time.sleep(0.5)
        took = time.monotonic() - started
        time.sleep(3)
        after = pss_bytes(proc.pid)
        errors = [node.identity(i).outcome.error for i in ids if node.identity(i).outcome.error]
    finally:
        proc.terminate()
        proc.wait(30)
        node.stop()
    budget = 2.5 * 1024 * MIB + 64 * MIB * args.identities
    return {
        "identities": args.identities, "randomx_mode": args.randomx_mode,
        "pss_idle_mib": round(idle / MIB), "pss_peak_mib": round(peak / MIB),
        "pss_after_mib": round(after / MIB), "target_mib": round(budget / MIB),
        "post_rs_services_mib": args.identities * 2080 if args.randomx_mode == "fast" else None,
        "seconds_all_proofs": round(took, 1), "errors": errors,
    }  # fmt: skip


def drop_cache(folders: list[Path]) -> None:
    for folder in folders:
        for path in folder.glob("postdata_*.bin"):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def io_ticks(folder: Path) -> int | None:
    dev = os.stat(folder).st_dev
    for line in Path("/proc/diskstats").read_text().splitlines():
        parts = line.split()
        if int(parts[0]) == os.major(dev) and int(parts[1]) == os.minor(dev):
            return int(parts[12])
    return None


def busy_share(folders: list[Path], run: object) -> tuple[float, float | None]:
    before, started = io_ticks(folders[0]), time.monotonic()
    run()  # type: ignore[operator]
    took, after = time.monotonic() - started, io_ticks(folders[0])
    share = None if before is None or after is None else (after - before) / 1000 / took
    return took, share


def throughput(args: argparse.Namespace) -> dict[str, object]:
    from mergetool.serve.config import plan_serve
    from mergetool.serve.service import Service

    root = Path(tempfile.mkdtemp(prefix="bench-serve-", dir=args.data_root))
    folders = make_data(root, args.identities, args.labels_per_unit, args.units)
    common = ["--preset", "test", "--pow-difficulty", args.pow_difficulty, "--nonces", "16"]

    def sequential() -> None:
        for folder in folders:
            subprocess.run(
                [sys.executable, "-c", "from mergetool.cli.main import main; main()", "post",
                 "prove", "--dir", str(folder), "--challenge", CHALLENGE.hex(), "--json",
                 *common], check=True, capture_output=True,
            )  # fmt: skip

    drop_cache(folders)
    seq_s, seq_busy = busy_share(folders, sequential)

    params = replace(PRESETS["test"], labels_per_unit=args.labels_per_unit,
                     pow_difficulty=bytes.fromhex(args.pow_difficulty))  # fmt: skip
    node = NodeStandin(poll_interval_s=0.05).start()
    config = plan_serve(folders, params=params, address=node.address, nonces=16)
    service = Service(config)
    thread = threading.Thread(target=lambda: __import__("asyncio").run(service.run()))
    thread.start()
    try:
        ids = [node_id(i) for i in range(args.identities)]
        node.wait_connected(ids, timeout=60)
        drop_cache(folders)

        def served() -> None:
            for i in ids:
                node.request_proof(i, CHALLENGE)
            for i in ids:
                assert node.wait_proof(i, timeout=3600).error is None

        serve_s, serve_busy = busy_share(folders, served)
    finally:
        service.stop()
        thread.join(60)
        node.stop()
    size = args.identities * args.units * args.labels_per_unit * 16
    return {
        "identities": args.identities, "data_mib_each": round(size / args.identities / MIB, 1),
        "sequential_post_prove_s": round(seq_s, 2), "serve_s": round(serve_s, 2),
        "speedup": round(seq_s / serve_s, 2),
        "disk_busy_share_sequential": None if seq_busy is None else round(seq_busy, 3),
        "disk_busy_share_serve": None if serve_busy is None else round(serve_busy, 3),
    }  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def soak(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    folders = make_data(root, args.identities, 256, 2)
    node = NodeStandin(poll_interval_s=0.5).start()
    code = "from mergetool.cli.main import main; main()"
    k2pow_cmd, k2pow, extra = None, None, []
    if args.remote_k2pow:
        port = _free_port()
        k2pow_cmd = [sys.executable, "-c", code, "k2pow-service", "--bind-address",
                     f"127.0.0.1:{port}", "--cores", "1", "--randomx-mode", "light"]  # fmt: skip
        k2pow = subprocess.Popen(k2pow_cmd, stderr=subprocess.DEVNULL)
        extra = ["--remote-k2pow", f"http://127.0.0.1:{port}"]
    cmd = [
        sys.executable, "-c", code, "serve", "--preset", "test", "--address", node.address,
        "--randomx-mode", args.randomx_mode, "--pow-difficulty", args.pow_difficulty,
        "--nonces", "16", "--reconnect-interval-s", "0.5", *extra,
        *[x for f in folders for x in ("--dir", str(f))],
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    ids = [node_id(i) for i in range(args.identities)]
    rounds: list[dict[str, object]] = []
    marks: list[tuple[int, int]] = []
    peak = 0
    try:
        node.wait_connected(ids, timeout=60)
        for number in range(args.rounds):
            challenge = bytes([number + 1]) * 32
            for i in ids:
                node.request_proof(i, challenge)
            started, restart_at = time.monotonic(), time.monotonic() + rng.uniform(0.2, 4.0)
            restarted, errors, got = False, 0, set()
            while len(got) < len(ids) and time.monotonic() - started < args.round_timeout:
                peak = max(peak, pss_bytes(proc.pid))
                if not restarted and time.monotonic() >= restart_at:
                    restarted = True
                    node.stop()  # the node goes away; it asks for the same challenge again
                    node.start(port=node.port)
                    if k2pow is not None and k2pow_cmd is not None:
                        k2pow.terminate()
                        k2pow.wait(30)
                        k2pow = subprocess.Popen(k2pow_cmd, stderr=subprocess.DEVNULL)
                for i in ids:
                    outcome = node.identity(i).outcome
                    if i in got or outcome is None:
                        continue
                    if outcome.error:
                        errors += 1
                        node.request_proof(i, challenge)  # the node retries later
                    else:
                        got.add(i)
                time.sleep(0.2)
            rounds.append({"round": number + 1, "delivered": len(got), "errors": errors,
                           "seconds": round(time.monotonic() - started, 1)})  # fmt: skip
            time.sleep(2)  # (RandomX released once nobody proves)
            marks.append((len(tree(proc.pid)), _fds(proc.pid)))
    finally:
        proc.terminate()
        proc.wait(30)
        if k2pow is not None:
            k2pow.terminate()
            k2pow.wait(30)
        node.stop()
    return {
        "identities": args.identities, "rounds": args.rounds, "randomx_mode": args.randomx_mode,
        "remote_k2pow": args.remote_k2pow, "rounds_all_delivered":
        sum(r["delivered"] == args.identities for r in rounds),
        "error_answers": sum(int(r["errors"]) for r in rounds),  # type: ignore[call-overload]
        "processes_after_first_last": [marks[0][0], marks[-1][0]] if marks else None,
        "fds_after_first_last": [marks[0][1], marks[-1][1]] if marks else None,
        "pss_peak_mib": round(peak / MIB), "per_round": rounds,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    mem = sub.add_parser("memory")
    mem.add_argument("--identities", type=int, default=8)
    mem.add_argument("--randomx-mode", choices=["fast", "light"], default="fast")
    mem.add_argument("--threads", type=int, default=1)
    mem.add_argument("--pow-difficulty", default="00ff" + "ff" * 30)
    thr = sub.add_parser("throughput")
    thr.add_argument("--identities", type=int, default=4)
    thr.add_argument("--labels-per-unit", type=int, default=1 << 16)
    thr.add_argument("--units", type=int, default=1)
    thr.add_argument("--pow-difficulty", default="0fff" + "ff" * 30)
    thr.add_argument("--data-root", help="Folder for the data (on the disk to measure).")
    soak_ = sub.add_parser("soak")
    soak_.add_argument("--identities", type=int, default=8)
    soak_.add_argument("--rounds", type=int, default=20)
    soak_.add_argument("--randomx-mode", choices=["fast", "light"], default="light")
    soak_.add_argument("--pow-difficulty", default="0fff" + "ff" * 30)
    soak_.add_argument("--remote-k2pow", action="store_true")
    soak_.add_argument("--round-timeout", type=float, default=300.0)
    soak_.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    runs = {"memory": memory, "throughput": throughput, "soak": soak}
    result = runs[args.what](args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
