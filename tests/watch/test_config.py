"""What watch takes from the node's JSON config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mergetool._exceptions import InvalidInputFile
from mergetool.watch.clock import PoetTiming
from mergetool.watch.config import dial_address, read_node_config


@pytest.mark.parametrize(
    ("listener", "dialed"),
    [("0.0.0.0:9092", "127.0.0.1:9092"), ("127.0.0.1:9093", "127.0.0.1:9093"),
     (":9094", "127.0.0.1:9094"), ("[::]:9092", "[::1]:9092"), ("127.0.0.1:0", None)],
)  # fmt: skip
def test_listeners_as_dialed(listener: str, dialed: str | None) -> None:
    assert dial_address(listener) == dialed


def test_listeners_coinbase_and_poet_timing(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({
        "api": {"grpc-public-listener": "0.0.0.0:19092", "grpc-post-listener": "127.0.0.1:0"},
        "poet": {"phase-shift": "24h", "cycle-gap": "2h"},
        "smeshing": {"smeshing-coinbase": "sm1abc"},
    }))  # fmt: skip
    cfg = read_node_config(path)
    assert (cfg.private, cfg.public, cfg.post) == (None, "127.0.0.1:19092", None)
    assert cfg.coinbase == "sm1abc"
    assert cfg.poet == PoetTiming(24 * 3600.0, 2 * 3600.0, 3600.0)


def test_a_cycle_gap_longer_than_the_phase_shift_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"poet": {"phase-shift": "1h", "cycle-gap": "2h"}}))
    with pytest.raises(InvalidInputFile, match="cycle-gap is longer than poet.phase-shift"):
        read_node_config(path)
