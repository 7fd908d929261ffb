"""A node set up right for remote PoST services (two identities, a data folder each, a good
config), built once per session; each test works on its own copy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mergetool.check.address import encode_address
from mergetool.check.postdata import read_commitments
from mergetool.node.fixtures import build_node
from mergetool.node.keys import write_key
from mergetool.post.initialize import initialize, plan_init
from mergetool.post.params import PRESETS

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


@pytest.fixture(scope="session")
def setup_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("setup")
    fixture = build_node(root / "node", identities=("id-1", "id-2"))
    commitments = read_commitments(fixture.folder)
    for name, node_hex in fixture.identities.items():
        node_id = bytes.fromhex(node_hex)
        init_post_dir(root / "post" / name.removesuffix(".key"), node_id, commitments[node_id])
    (root / "config.json").write_text(json.dumps(GOOD_CONFIG, indent=2))
    (root / "identities.json").write_text(json.dumps(fixture.identities))
    return root


@pytest.fixture
def setup(setup_template: Path, tmp_path: Path) -> Setup:
    root = tmp_path / "setup"
    shutil.copytree(setup_template, root)
    ids = json.loads((root / "identities.json").read_text())
    return Setup(
        root,
        root / "node",
        root / "config.json",
        {name: (h, root / "post" / name.removesuffix(".key")) for name, h in ids.items()},
    )


@pytest.fixture
def stray_key() -> Callable[[Setup, str], Path]:
    """Put the identity's key (as postcli leaves it) into its data folder."""
    from mergetool.node.fixtures import test_key

    def put(s: Setup, name: str) -> Path:
        path = s.identities[name][1] / "identity.key"
        write_key(test_key(name.removesuffix(".key")), path)
        return path

    return put
