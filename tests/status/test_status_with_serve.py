"""``status`` end to end: a real ``mergetool serve`` (its ``/identities``) proving for the node
stand-in, held mid-proof by the serve tests' gated k2pow solver."""

from __future__ import annotations

from pathlib import Path

from mergetool.post.initialize import initialize, plan_init
from mergetool.post.params import PRESETS
from mergetool.status.read import read_status, wait_safe
from tests.serve.serve_helpers import ATX_ID, FILE_SIZE, UNITS, config_for, serving
from tests.status.status_helpers import ALPHA, BETA, NodeStandin

CHALLENGE = bytes(range(100, 132))


def _post_dir(directory: Path, node_id: bytes) -> Path:
    params = PRESETS["test"]
    plan = plan_init(
        directory, node_id=node_id, commitment_atx_id=ATX_ID, num_units=UNITS,
        labels_per_unit=params.labels_per_unit, scrypt_n=params.scrypt_n,
        max_file_size=FILE_SIZE, vrf_difficulty=params.pow_difficulty,
    )  # fmt: skip
    initialize(plan, backend="numpy")
    return directory


def _by_name(report: object) -> dict[str, tuple[object, ...]]:
    return {
        i.name: (i.node_state, i.service_state, i.safe_to_stop)
        for i in report.identities  # type: ignore[attr-defined]
    }


def test_status_follows_a_real_serve_through_a_proof(
    node: NodeStandin, node_address: str, tmp_path: Path
) -> None:
    dirs = [_post_dir(tmp_path / "alpha", ALPHA), _post_dir(tmp_path / "beta", BETA)]
    with serving(config_for(node.address, dirs), gated=True) as run:
        node.wait_connected([ALPHA, BETA])
        run.wait_event("connected", 2)  # serve counts a stream once the node keeps it
        host, port = run.service.operator_address
        operators = [f"http://{host}:{port}"]
        report = read_status(node_address, operators=operators, timeout_s=5)
        assert report.errors == ()
        assert _by_name(report) == {
            "alpha.key": ("IDLE", "idle", True),
            "beta.key": ("IDLE", "idle", True),
        }
        node.request_proof(ALPHA, CHALLENGE)
        assert run.solver.waiting.wait(30)
        report = read_status(node_address, operators=operators, timeout_s=5)
        assert _by_name(report)["alpha.key"][0::2] == ("PROVING", False)
        assert _by_name(report)["alpha.key"][1].startswith("k2pow")
        assert _by_name(report)["beta.key"] == ("IDLE", "idle", True)
        assert not report.safe_to_stop
        run.solver.gate.set()
        assert node.wait_proof(ALPHA, timeout=60).error is None
        report = wait_safe(
            node_address, operators=operators, timeout_s=5, wait_s=30, interval_s=0.05
        )
        assert report.safe_to_stop, report
        assert _by_name(report)["alpha.key"] == ("IDLE", "idle", True)
