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


def test_status_reads_a_token_guarded_serve_with_operator_token(
    node: NodeStandin, node_address: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from mergetool.cli.main import cli

    dirs = [_post_dir(tmp_path / "alpha", ALPHA)]
    with serving(config_for(node.address, dirs, http_token="s3cret")) as run:
        node.wait_connected([ALPHA])
        host, port = run.service.operator_address
        url = f"http://{host}:{port}"
        args = ["status", "--node", node_address, "--operator", url]
        runner = CliRunner(env={"MERGETOOL_HTTP_TOKEN": None})
        refused = runner.invoke(cli, args)
        assert refused.exit_code == 1
        assert (
            f"Error: service {url}/identities: answered HTTP 401: it is guarded by a token "
            "(Give --operator-token: the --http-token it was started with (or set "
            "MERGETOOL_HTTP_TOKEN).)\n"
        ) in refused.stderr
        wrong = runner.invoke(cli, [*args, "--operator-token", "guess"])
        assert "guarded by a token and refused the one given" in wrong.stderr
        for given in (["--operator-token", "s3cret"], []):
            env = {} if given else {"MERGETOOL_HTTP_TOKEN": "s3cret"}
            read = runner.invoke(cli, [*args, *given, "--json"], env=env)
            assert read.exit_code == 0, read.output
            assert '"errors": []' in read.output
