"""A node folder and a stand-in node in a known place of the epoch, for read and CLI tests.

The network: 100 layers of 60 s per epoch, PoET phase shift 70 min and cycle gap 20 min (the
node config says so), now 20 minutes into epoch 5; the cycle gap of epoch 5 starts 30 minutes
from now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mergetool.node.keys import IdentityKey, write_key
from mergetool.nodeapi.proto import v2alpha1_pb2 as v2
from tests.watch.node_standin import WatchNode

EPOCH = 5
LAYERS = 100


@dataclass
class Scenario:
    node: WatchNode
    node_dir: Path
    config: Path
    keys: dict[str, IdentityKey] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def id(self, name: str) -> bytes:
        return self.keys[name].node_id

    def add_key(self, name: str, *, loaded: bool = True) -> bytes:
        """identities/NAME.key; in SmesherIDs and PostStates when the node ``loaded`` it."""
        key = IdentityKey.generate()
        self.keys[name] = key
        write_key(key, self.node_dir / "identities" / f"{name}.key")
        if loaded:
            self.node.smesher_ids.append(key.node_id)
            self.node.key_names[f"{name}.key"] = key.node_id
        return key.node_id

    def atx(self, name: str, *epochs: int) -> None:
        for epoch in epochs:
            self.node.activations.append(
                v2.Activation(id=bytes([epoch]) + self.id(name)[1:], smesher_id=self.id(name),
                              publish_epoch=epoch, num_units=4)
            )  # fmt: skip

    def reward(self, name: str, layer: int, smh: float) -> None:
        self.node.rewards.append(
            v2.Reward(layer=layer, total=int(smh * 10**9), smesher=self.id(name))
        )

    def healthy(self, name: str) -> bytes:
        """Loaded, ATXs published in epochs 3 and 4 (earning in 5), rewarded in epoch 4."""
        node_id = self.add_key(name)
        self.atx(name, 3, 4)
        self.reward(name, 4 * LAYERS + 10, 1.5)
        self.reward(name, 4 * LAYERS + 90, 2.0)
        return node_id


def build(tmp_path: Path) -> Scenario:
    """Stand-in (not started) with the clock above, a node folder and its config."""
    now = datetime.now(UTC).replace(microsecond=0)
    genesis = now - timedelta(minutes=EPOCH * LAYERS + 20)
    node = WatchNode(genesis=genesis, layer_duration_s=60.0, layers_per_epoch=LAYERS)
    node_dir = tmp_path / "node"
    (node_dir / "identities").mkdir(parents=True)
    config = tmp_path / "config.json"
    return Scenario(node, node_dir, config, now=now)


def write_config(s: Scenario) -> Path:
    """The node's config naming the stand-in's listeners and the test PoET timing."""
    doc = {
        "api": {
            "grpc-private-listener": s.node.address("private"),
            "grpc-public-listener": s.node.address("public").replace("127.0.0.1", "0.0.0.0"),
            "grpc-post-listener": s.node.address("post"),
        },
        "poet": {"phase-shift": "1h10m", "cycle-gap": "20m", "grace-period": "1m"},
        "smeshing": {"smeshing-coinbase": "sm1qqqqqqzd3kpm9s0mlwfcsqywsxe5hgex65pqk7q37z4sn"},
    }
    s.config.write_text(json.dumps(doc))
    return s.config
