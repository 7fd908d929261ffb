"""``make demo-serve``: stand-in nodes, ``mergetool serve`` and ``mergetool watch --follow
--http`` with their operator pages, on tiny example data, until Ctrl-C.

Three identities (alice, bob, carol) get ``--preset test`` PoST data from ``mergetool post
init`` in a temporary folder. The node is played by the tests' stand-ins, real gRPC servers
on 127.0.0.1: ``tests/serve/node_standin.py`` its post listener (it asks each identity for a
proof in turn, so serve's page shows proofs being made and delivered), and
``tests/watch/node_standin.py`` its private and public listeners (a one-hour-epoch network
with ATXs, the proofs' events) that watch reads, with ``--operator`` at serve for the
progress. Everything is removed at the end.

    python scripts/demo_serve.py [--port 8095] [--watch-port 8096] [--every 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mergetool.node.keys import IdentityKey, write_key
from mergetool.nodeapi.proto import events_pb2, v2alpha1_pb2
from mergetool.post.metadata import read_metadata
from tests.serve.node_standin import NodeStandin
from tests.watch.node_standin import WatchNode

NAMES = ("alice", "bob", "carol")
ATX = "ab" * 32
MERGETOOL = [sys.executable, "-c", "from mergetool.cli.main import main; main()"]


def init_data(root: Path) -> list[Path]:
    """One PoST folder per name, its key file beside the data (serve shows the name)."""
    folders = []
    for name in NAMES:
        folder = root / name
        key = IdentityKey.generate()
        write_key(key, folder / f"{name}.key")
        subprocess.run(
            [*MERGETOOL, "post", "init", "--dir", str(folder), "--node-id", key.node_id_hex,
             "--commitment-atx", ATX, "--num-units", "4", "--preset", "test",
             "--backend", "numpy", "--json"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        folders.append(folder)
    return folders


def watch_node(node_ids: list[bytes]) -> WatchNode:
    """The node's private and public listeners: epoch 3 of a network of one-hour epochs, 40
    minutes in; alice and bob published ATXs in epochs 1 and 2 (earning: rewards in epoch 2,
    eligible in epoch 3), carol in 1 only."""
    genesis = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3 * 60 + 40)
    node = WatchNode(genesis=genesis, layer_duration_s=60.0, layers_per_epoch=60)
    node.smesher_ids = list(node_ids)
    node.key_names = {f"{n}.key": i for n, i in zip(NAMES, node_ids, strict=True)}
    for index, who in enumerate(node_ids):
        for epoch in (1, 2) if index < 2 else (1,):
            node.activations.append(
                v2alpha1_pb2.Activation(
                    id=bytes([epoch]) + who[:31], smesher_id=who, publish_epoch=epoch,
                    coinbase="sm1demo", weight=1, height=epoch, num_units=4,
                )
            )  # fmt: skip
    for index, who in enumerate(node_ids[:2]):
        for layer in (130 + index, 150 + 3 * index):
            node.rewards.append(
                v2alpha1_pb2.Reward(
                    layer=layer, total=2_500_000_000, layer_reward=2_400_000_000,
                    coinbase="sm1demo", smesher=who,
                )
            )  # fmt: skip
        slots = [events_pb2.ProposalEligibility(layer=190 + 7 * index, count=1 + index)]
        node.publish(node.event("eligibilities", epoch=3, smesher=who, eligibilities=slots))
    return node.start()


def start_watch(root: Path, node: WatchNode, serve_port: int, port: int) -> subprocess.Popen[bytes]:
    """``watch --follow --http`` on the stand-in's listeners, with serve as --operator; its
    node config gives a short PoET round (the cycle gap 50 minutes into each epoch)."""
    config = root / "node-config.json"
    config.write_text(json.dumps({
        "api": {f"grpc-{n}-listener": node.address(n) for n in ("private", "public", "post")},
        "poet": {"phase-shift": "1h5m", "cycle-gap": "15m", "grace-period": "1m"},
    }))  # fmt: skip
    command = [*MERGETOOL, "watch", "--follow", "--config", str(config),
               "--operator", f"http://127.0.0.1:{serve_port}", "--http", f"127.0.0.1:{port}",
               "--refresh-every", "2", "--state", str(root / "watch.sqlite")]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MERGETOOL_HTTP_TOKEN", None)
    return subprocess.Popen(command, env=env, start_new_session=True)


def wait_answering(url: str, proc: subprocess.Popen[Any], timeout_s: float = 60.0) -> None:
    """Until ``url`` answers (serve listening), so watch's first read finds it."""
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)


def tell_watch(node: WatchNode, node_id: bytes, challenge: bytes, *, done: bool) -> None:
    """What the node tells its events stream about a proof (watch's stand-in)."""
    kind = "post_complete" if done else "post_start"
    node.publish(node.event(kind, smesher=node_id, challenge=challenge))
    (node.proving.discard if done else node.proving.add)(node_id)


def stop(proc: subprocess.Popen[Any] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo as Ctrl-C does: children stopped too


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8095, help="the page's port on 127.0.0.1")
    parser.add_argument("--watch-port", type=int, default=8096, help="watch's page's port")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between requests")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mergetool-demo-"))
    node = NodeStandin(poll_interval_s=1.0)
    serve: subprocess.Popen[bytes] | None = None
    watch: subprocess.Popen[bytes] | None = None
    watcher: WatchNode | None = None
    try:
        print(f"initialising PoST data for {', '.join(NAMES)} in {root} ...", flush=True)
        folders = init_data(root)
        node.start()
        command = [*MERGETOOL, "serve", "--preset", "test", "--address", node.address,
                   "--operator-address", f"127.0.0.1:{args.port}", "--nonces", "64",
                   "--reconnect-interval-s", "1"]  # fmt: skip
        for folder in folders:
            command += ["--dir", str(folder)]
        # Its own session: Ctrl-C reaches this script, which stops serve with SIGTERM.
        serve = subprocess.Popen(
            command, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True
        )
        node_ids = [read_metadata(folder).node_id for folder in folders]
        wait_answering(f"http://127.0.0.1:{args.port}/status", serve)
        watcher = watch_node(node_ids)
        watch = start_watch(root, watcher, args.port, args.watch_port)
        print(
            f"\nserve's operator page: http://127.0.0.1:{args.port}/"
            f"\nwatch's operator page: http://127.0.0.1:{args.watch_port}/  (Ctrl-C to stop)\n",
            flush=True,
        )
        # Each identity is asked for a new proof at most every `--every` seconds, and only
        # once its last one came.
        rounds = dict.fromkeys(node_ids, 0)
        # watch hears of a request once serve has it (the two stand-ins are one node): a
        # connected service not yet proving is what watch calls "no service connected"
        told: dict[bytes, tuple[bytes, float]] = {}
        due = {n: time.monotonic() + i * args.every / 3 for i, n in enumerate(node_ids)}
        while serve.poll() is None and watch.poll() is None:
            for node_id in node_ids:
                answered = rounds[node_id] == 0 or node.identity(node_id).outcome is not None
                if answered and node_id in told:  # (a proof faster than the delay)
                    tell_watch(watcher, node_id, told.pop(node_id)[0], done=False)
                if answered and node_id in watcher.proving:  # the last proof came
                    last = (rounds[node_id] - 1).to_bytes(4, "big") + node_id[:28]
                    tell_watch(watcher, node_id, last, done=True)
                if answered and time.monotonic() >= due[node_id]:
                    challenge = rounds[node_id].to_bytes(4, "big") + node_id[:28]
                    node.request_proof(node_id, challenge)
                    told[node_id] = (challenge, time.monotonic() + 2.0)
                    rounds[node_id] += 1
                    due[node_id] = time.monotonic() + args.every
            for node_id, (challenge, at) in list(told.items()):
                if time.monotonic() >= at:
                    tell_watch(watcher, node_id, challenge, done=False)
                    del told[node_id]
            time.sleep(0.1)  # watch hears of a delivered proof as soon as serve is idle
        for name, proc in (("serve", serve), ("watch", watch)):
            if proc.poll() is not None:
                print(f"{name} ended with status {proc.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(watch)
        stop(serve)
        node.stop()
        if watcher is not None:
            watcher.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
