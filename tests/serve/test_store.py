"""The proof file: what a restart may reuse, and what it must throw away."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from mergetool.post.proof import Proof
from mergetool.serve.config import IdentityConfig
from mergetool.serve.state import Finished
from mergetool.serve.store import ProofStore
from tests.schema_check import loads_valid

IDENT = IdentityConfig(
    folder=Path("/data/a"), node_id=b"\x01" * 32, commitment_atx_id=b"\x02" * 32, num_units=4,
    labels_per_unit=256, vrf_nonce=77, state_dir=Path("."), device=1,
)  # fmt: skip
FINISHED = Finished(b"\x03" * 32, Proof(5, b"\x01\x02", 9), 1_700_000_000.0, 12.5)


def test_round_trip_and_delivered_flag(tmp_path: Path) -> None:
    store = ProofStore(replace(IDENT, state_dir=tmp_path / "state"))
    assert store.load() is None
    store.save(FINISHED)
    assert store.load() == (FINISHED, False)
    store.save(FINISHED, delivered=True)
    assert store.load() == (FINISHED, True)
    assert loads_valid(store.path.read_text(), "serve-proof")["delivered"] is True
    assert [p.name for p in (tmp_path / "state").iterdir()] == [f"{'01' * 32}.proof.json"]
    store.discard()
    assert store.load() is None


def test_another_data_set_or_a_damaged_file_is_not_reused(tmp_path: Path) -> None:
    ident = replace(IDENT, state_dir=tmp_path)
    ProofStore(ident).save(FINISHED)
    reason = ProofStore(replace(ident, num_units=8, vrf_nonce=78)).load()
    assert reason == "made for another data set (num_units, vrf_nonce differ)"
    store = ProofStore(ident)
    doc = loads_valid(store.path.read_text(), "serve-proof")
    store.path.write_text(json.dumps({**doc, "proof": {"nonce": -1}}))
    assert str(store.load()).startswith("malformed (invalid proof: malformed proof")
    store.path.write_text("{")
    assert str(store.load()).startswith("unreadable (")
