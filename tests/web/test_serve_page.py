"""serve's operator page: ``serve_page_view`` from real state machines, the --http-token
rule of ``serve``, and the page of a running Service in headless Chromium (a proof's
progress bar advancing, the verdict changing on delivery, the lost connection at stop)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.serve.config import IdentityConfig
from mergetool.serve.events import Event
from mergetool.serve.page import serve_page_view
from mergetool.serve.service import Identity
from mergetool.serve.state import IdentityState, Progress
from mergetool.serve.store import ProofStore
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS, Running, config_for
from tests.web.browser import rows, text, wait_until

CHALLENGE = bytes(range(32))


def identity(now: list[float], node_id: bytes, name: str | None = None) -> Identity:
    config = IdentityConfig(
        folder=Path("/data") / node_id.hex()[:4], node_id=node_id, commitment_atx_id=bytes(32),
        num_units=2, labels_per_unit=256, vrf_nonce=0, state_dir=Path("/state"), device=0x801,
        name=name,
    )  # fmt: skip
    return Identity(config, IdentityState(lambda: now[0]), ProofStore(config))


def test_the_view_follows_a_proof_from_request_to_delivery() -> None:
    now = [1_800_000_000.0]
    ident = identity(now, NODE_IDS[0], "alice.key")
    ident.connected = True

    def view() -> dict[str, Any]:
        doc = serve_page_view([ident], [], now=now[0], disk=lambda dev: f"d{dev:x}")
        assert doc["format"] == "mergetool-page/1" and doc["source"] == "serve"
        assert doc["node"] is None and doc["clock"] is None  # serve does not know them
        return doc["identities"][0]  # type: ignore[no-any-return]

    first = view()
    assert first["verdict"]["code"] == "idle" and first["post"]["phase"] == "idle"
    assert first["name"] == "alice" and first["post"]["disk"] == "d801"
    ident.state.on_request(CHALLENGE)
    now[0] += 2
    ident.state.on_progress(CHALLENGE, Progress("k2pow", 1, (0, 64), k2pow_groups_done=1,
                                                k2pow_groups_total=4))  # fmt: skip
    k2pow = view()
    assert k2pow["verdict"] == {"code": "proving", "text": "proving: k2pow", "level": "info"}
    assert k2pow["post"] | {"asked_at": None} == {
        "phase": "k2pow", "done": 1, "total": 4, "unit": "groups", "pass": 1, "rate": None,
        "eta": None, "eta_after_gap": False, "disk": "d801", "asked_at": None,
        "delivered_at": None,
    }  # fmt: skip
    assert k2pow["post"]["asked_at"] == "2027-01-15T08:00:00.000Z"
    ident.state.on_progress(CHALLENGE, Progress("reading", 1, (0, 64), 2048, 8192, 1024.0, 6.0))
    reading = view()["post"]
    assert (reading["done"], reading["total"], reading["unit"]) == (2048, 8192, "bytes")
    assert reading["rate"] == 1024.0 and reading["eta"] == "2027-01-15T08:00:08.000Z"
    finished = ident.state.finish(CHALLENGE, object())
    assert finished is not None and ident.state.on_proof(finished)
    assert view()["verdict"]["code"] == "waiting"
    ident.state.on_request(CHALLENGE)  # handed out
    ident.delivered = (CHALLENGE, now[0] + 1)
    delivered = view()
    assert delivered["verdict"]["code"] == "delivered" and delivered["verdict"]["level"] == "ok"
    assert delivered["post"]["delivered_at"] == "2027-01-15T08:00:03.000Z"


def test_a_failure_and_events_newest_first() -> None:
    now = [1_800_000_000.0]
    ident = identity(now, NODE_IDS[1])
    ident.state.on_request(CHALLENGE)
    ident.state.on_failure(CHALLENGE, "/data/0202: postdata_1.bin is missing")
    events = [
        Event(now[0], "proof-started", "proving", node_id=NODE_IDS[1]),
        Event(now[0] + 1, "proof-failed", "postdata_1.bin is missing", "error", NODE_IDS[1]),
    ]
    doc = serve_page_view([ident], events, now=now[0], disk=str)
    row = doc["identities"][0]
    assert row["verdict"]["code"] == "failed" and row["verdict"]["level"] == "bad"
    assert row["last_error"] == "/data/0202: postdata_1.bin is missing"
    assert [e["kind"] for e in doc["events"]] == ["proof-failed", "proof-started"]
    assert doc["events"][0]["failure"] and doc["events"][0]["identity"] == NODE_IDS[1].hex()


def test_serve_refuses_a_page_open_to_the_network_without_a_token(
    post_dirs: Callable[[int], list[Path]],
) -> None:
    (folder,) = post_dirs(1)
    args = ["serve", "--preset", "test", "--address", "http://127.0.0.1:1", "--dir", str(folder)]
    result = CliRunner().invoke(cli, [*args, "--operator-address", "0.0.0.0:0"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: the operator page would be open to the network on 0.0.0.0: give --http-token "
        "SECRET (or set MERGETOOL_HTTP_TOKEN), or bind to 127.0.0.1\n"
    )
    result = CliRunner().invoke(cli, [*args, "--http-token", "s3cret"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --http-token needs --operator-address\n")


class SteppedSolver:
    """The service's RandomX host, one k2pow group per ``step()``: a run in slow motion."""

    def __init__(self, host: Any) -> None:
        self.host, self.steps = host, threading.Semaphore(0)

    def step(self, count: int = 1) -> None:
        self.steps.release(count)

    def solve_groups(self, node_id: bytes, groups: list[int], challenge: bytes, target: bytes,
                     *, cancelled: Any, on_group: Any = None) -> dict[int, int]:  # fmt: skip
        from mergetool._exceptions import Cancelled

        pows: dict[int, int] = {}
        for group in groups:
            while not self.steps.acquire(timeout=0.02):
                if cancelled():
                    raise Cancelled("the k2pow was stopped")
            found = self.host.solve_groups(node_id, [group], challenge, target, cancelled=cancelled)
            pows.update(found)
            if on_group is not None:
                on_group(group, found[group])
        return pows


def test_the_page_of_a_running_serve(
    browser: Any, node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    from mergetool.serve.service import Service

    service = Service(config_for(node.address, post_dirs(3), nonces=64))
    solver = service.solver = SteppedSolver(service.host)
    running = Running(service).start()
    try:
        node.wait_connected(NODE_IDS)
        host, port = service.operator_address  # type: ignore[misc]
        assert running.get("/identities")[0] == 200  # the API paths stay
        browser.get(f"http://{host}:{port}/?poll_ms=200")
        found = wait_until(lambda: len(rows(browser)) == 3 and rows(browser))
        assert [r["node_id"] for r in found] == [n.hex() for n in NODE_IDS]
        assert text(browser, "#source") == "from serve"
        wait_until(lambda: all(r["verdict"] == "idle" for r in rows(browser)), what="idle")

        node.request_proof(NODE_IDS[0], CHALLENGE)
        first = wait_until(lambda: rows(browser)[0]["max"] == 4 and rows(browser)[0])
        assert first["verdict"] == "proving" and first["value"] == 0
        assert "0 groups / 4 groups (0%)" in first["text"] and "pass 1" in first["text"]
        for done in (1, 2):
            solver.step()
            wait_until(lambda d=done: rows(browser)[0]["value"] == d, what=f"{done} groups")
        assert "2 groups / 4 groups (50%)" in rows(browser)[0]["text"]
        assert rows(browser)[1]["verdict"] == "idle"  # the others are not touched

        solver.step(1000)  # the rest of k2pow (and any further pass)
        assert node.wait_proof(NODE_IDS[0]).proof is not None
        wait_until(lambda: rows(browser)[0]["verdict"] == "delivered", what="delivered")
        assert "proof delivered to the node" in rows(browser)[0]["verdict_text"]
        bar = browser.find_element("css selector", f'.tl-bar[data-node-id="{NODE_IDS[0].hex()}"]')
        assert "delivered" in bar.get_attribute("class")
        assert "proof-delivered" in text(browser, "#events")
    finally:
        running.stop()
    wait_until(lambda: browser.find_element("id", "banner").is_displayed(), 15, "the banner")
    assert text(browser, "#banner").startswith("Connection lost since ")
    assert browser.find_element("tag name", "body").get_attribute("data-state") == "lost"


def test_serve_with_a_token(node: NodeStandin, post_dirs: Callable[[int], list[Path]]) -> None:
    from mergetool.serve.service import Service

    token = "s3cret"
    events: list[Any] = []
    config = config_for(node.address, post_dirs(1), http_token=token)
    running = Running(Service(config, on_event=events.append))
    running.events = events
    running.start()
    try:
        assert running.get("/identities")[0] == 401
        assert running.get("/api/page")[0] == 401
        status, doc = running.get(f"/api/page?token={token}")
        assert status == 200 and doc["identities"][0]["node_id"] == NODE_IDS[0].hex()
        assert running.get(f"/status?token={token}")[0] == 200
        started = running.wait_event("started").message
        assert "operator API and page on http://127.0.0.1:" in started
        assert "(token required: open it as /?token=<the --http-token>)" in started
        assert token not in started
    finally:
        running.stop()
