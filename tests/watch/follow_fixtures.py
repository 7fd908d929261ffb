"""The short network ``watch --follow`` tests run on: epoch 3, alice and bob loaded, both
with ATXs published in epochs 1 and 2 (so earning)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mergetool.nodeapi.proto import v2alpha1_pb2
from tests.watch.node_standin import WatchNode

ALICE, BOB = bytes([0xA1]) * 32, bytes([0xB0]) * 32
EPOCH_LAYERS, LAYER_S = 10, 60.0
INVALID = "Node generated invalid POST proof. Please verify your POST data."


@pytest.fixture
def follow_node() -> Iterator[WatchNode]:
    """Epoch 3 of a short network; alice and bob loaded, both published in epoch 2."""
    genesis = datetime.now(UTC).replace(microsecond=0) - timedelta(
        seconds=3.5 * EPOCH_LAYERS * LAYER_S
    )
    standin = WatchNode(genesis=genesis, layer_duration_s=LAYER_S, layers_per_epoch=EPOCH_LAYERS)
    standin.smesher_ids = [ALICE, BOB]
    standin.key_names = {"alice.key": ALICE, "bob.key": BOB}
    for who in (ALICE, BOB):
        for epoch in (1, 2):
            standin.activations.append(_atx(who, epoch))
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def _atx(who: bytes, epoch: int) -> Any:
    return v2alpha1_pb2.Activation(
        id=bytes([epoch]) + who[:31], smesher_id=who, publish_epoch=epoch, coinbase="sm1x",
        weight=1, height=epoch, num_units=4,
    )  # fmt: skip
