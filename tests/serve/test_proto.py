"""The committed protocol stubs are what ``scripts/gen_proto.py`` makes from ``post.proto``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_committed_stubs_are_current(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    spec = importlib.util.spec_from_file_location("gen_proto", REPO / "scripts" / "gen_proto.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.generate(tmp_path)
    outputs = [f"{proto}{suffix}" for proto in gen.PROTOS for suffix in ("_pb2.py", "_pb2_grpc.py")]
    for name in outputs:
        committed = (gen.PROTO_DIR / name).read_text()
        assert (tmp_path / name).read_text() == committed, (
            f"{name} is stale: run `python scripts/gen_proto.py` and commit the result"
        )


def test_wire_names_and_field_numbers_follow_the_spec() -> None:
    from mergetool.nodeapi.proto import post_pb2

    pool = post_pb2.DESCRIPTOR
    assert pool.package == "spacemesh.v1"
    register = pool.services_by_name["PostService"].methods_by_name["Register"]
    assert register.full_name == "spacemesh.v1.PostService.Register"
    assert register.input_type.name == "ServiceResponse"
    assert register.output_type.name == "NodeRequest"
    assert "PostStates" in pool.services_by_name["PostInfoService"].methods_by_name
    meta = post_pb2.Metadata.DESCRIPTOR.fields_by_name
    assert {n: f.number for n, f in meta.items()} == {
        "node_id": 1, "commitment_atx_id": 2, "nonce": 3, "num_units": 4, "labels_per_unit": 5,
    }  # fmt: skip
    assert meta["nonce"].has_presence  # proto3 optional: "nonce set to 0" is not "unset"
    assert post_pb2.GEN_PROOF_STATUS_ERROR == 2
    assert post_pb2.PostState.PROVING == 2
