"""Helpers of the check tests (import this, not conftest: conftest names collide)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mergetool.check.address import encode_address
from mergetool.post.initialize import initialize, plan_init
from mergetool.post.params import PRESETS

T = TypeVar("T")
TEST = PRESETS["test"]
COINBASE = encode_address(bytes(4) + bytes(range(20)))
GOOD_CONFIG = {
    "api": {"grpc-post-listener": "127.0.0.1:9094"},
    "smeshing": {"smeshing-start": False, "smeshing-coinbase": COINBASE},
    "post": {"post-k1": 26, "post-k2": 37},
}


@dataclass(frozen=True)
class Setup:
    root: Path
    node: Path
    config: Path
    #: key file name -> (node id hex, PoST data folder)
    identities: dict[str, tuple[str, Path]]

    @property
    def dirs(self) -> list[Path]:
        return [d for _, d in self.identities.values()]

    def args(self, *extra: str) -> list[str]:
        """``check`` arguments for this setup (``--preset test``: its data is tiny)."""
        dirs = [a for d in self.dirs for a in ("--dir", str(d))]
        return [str(self.node), "--config", str(self.config), *dirs, "--preset", "test", *extra]

    def write_config(self, doc: object | str) -> Path:
        self.config.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
        return self.config


def init_post_dir(directory: Path, node_id: bytes, commitment: bytes, num_units: int = 1) -> Path:
    """What `mergetool post init --preset test` makes for ``node_id``."""
    plan = plan_init(
        directory,
        node_id=node_id,
        commitment_atx_id=commitment,
        num_units=num_units,
        labels_per_unit=TEST.labels_per_unit,
        scrypt_n=TEST.scrypt_n,
        max_file_size=1024,
        vrf_difficulty=b"\xff" * 32,
    )
    initialize(plan, backend="numpy")
    return directory


def in_time(call: Callable[[], T], seconds: float = 10.0) -> T:
    """``call()``'s result, failing the test (not hanging it) when it blocks, e.g. on a FIFO."""
    result: list[T] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"still blocked after {seconds} s"
    return result[0]
