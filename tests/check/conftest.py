"""A node set up right for remote PoST services (two identities, a data folder each, a good
config), built once per session; each test works on its own copy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mergetool.check.postdata import read_commitments
from mergetool.node.fixtures import build_node
from mergetool.node.keys import write_key
from tests.check.check_helpers import GOOD_CONFIG, Setup, init_post_dir


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
