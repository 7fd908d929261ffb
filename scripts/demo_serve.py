"""``make demo-serve``: a stand-in node, ``mergetool serve`` and the operator page, on tiny
example data, until Ctrl-C.

Three identities (alice, bob, carol) get ``--preset test`` PoST data from ``mergetool post
init`` in a temporary folder; the node stand-in of the tests (``tests/serve/node_standin.py``,
a real gRPC server on 127.0.0.1) asks each for a proof in turn, so the page shows proofs
being made and delivered. Everything is removed at the end.

    python scripts/demo_serve.py [--port 8095] [--every 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mergetool.node.keys import IdentityKey, write_key
from mergetool.post.metadata import read_metadata
from tests.serve.node_standin import NodeStandin

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8095, help="the page's port on 127.0.0.1")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between requests")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mergetool-demo-"))
    node = NodeStandin(poll_interval_s=1.0)
    serve: subprocess.Popen[bytes] | None = None
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
        # Hook for `mergetool watch --http`: once watch is merged, start it here against the
        # node stand-in (and `--operator http://127.0.0.1:PORT` for serve's progress) and
        # print its page's URL too.
        node_ids = [read_metadata(folder).node_id for folder in folders]
        url = f"http://127.0.0.1:{args.port}/"
        print(f"\nThe operator page: {url}  (Ctrl-C to stop)\n", flush=True)
        # Each identity is asked for a new proof at most every `--every` seconds, and only
        # once its last one came.
        rounds = dict.fromkeys(node_ids, 0)
        due = {n: time.monotonic() + i * args.every / 3 for i, n in enumerate(node_ids)}
        while serve.poll() is None:
            for node_id in node_ids:
                answered = rounds[node_id] == 0 or node.identity(node_id).outcome is not None
                if answered and time.monotonic() >= due[node_id]:
                    challenge = rounds[node_id].to_bytes(4, "big") + node_id[:28]
                    node.request_proof(node_id, challenge)
                    rounds[node_id] += 1
                    due[node_id] = time.monotonic() + args.every
            time.sleep(0.5)
        print(f"serve ended with status {serve.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(15)
            except subprocess.TimeoutExpired:
                serve.kill()
        node.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
