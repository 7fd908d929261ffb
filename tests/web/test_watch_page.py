"""``watch --follow --http``: a real watch process against the watch stand-in (three
identities) with ``--operator`` at a running ``serve``, its page in headless Chromium (watch's
verdicts, serve's progress in the rows, the cycle-gap countdown from watch's clock, events
newest first, the lost connection when watch stops); the --http flags' rules."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from tests.schema_check import assert_valid, loads_valid
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS, Running, config_for
from tests.watch.follow_fixtures import _atx
from tests.watch.node_standin import WatchNode
from tests.web.browser import rows, text, wait_until
from tests.web.test_serve_page import CHALLENGE, SteppedSolver

_MAIN = "from mergetool.cli.main import main; main()"
NAMES = ["alice", "bob", "carol"]


@pytest.fixture
def watch_node() -> Iterator[WatchNode]:
    """Epoch 3 of a 10-minute-epoch network, 5 min in; serve's three identities loaded: alice
    proving, bob earning (ATXs in epochs 1, 2), carol without an ATX for epoch 3."""
    genesis = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=3.5 * 600)
    standin = WatchNode(genesis=genesis, layer_duration_s=60.0, layers_per_epoch=10)
    standin.smesher_ids = list(NODE_IDS)
    standin.key_names = {f"{n}.key": i for n, i in zip(NAMES, NODE_IDS, strict=True)}
    standin.proving = {NODE_IDS[0]}
    for who in NODE_IDS[:2]:
        for epoch in (1, 2):
            standin.activations.append(_atx(who, epoch))
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def seconds(countdown: str) -> int:
    h, m, s = re.search(r"(?:(\d+)h )?(\d+)m (\d+)s", countdown).groups()  # type: ignore[union-attr]
    return int(h or 0) * 3600 + int(m) * 60 + int(s)


class WatchProcess:
    """``mergetool watch --follow --http 127.0.0.1:0 …`` with its JSON log lines read."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "watch", "--follow", "--log-format", "json", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={k: v for k, v in os.environ.items() if k != "MERGETOOL_HTTP_TOKEN"},
        )  # fmt: skip
        self.docs: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.docs.append(loads_valid(line, "watch-log"))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in list(self.docs) if d["event"] == kind]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()  # type: ignore[union-attr]


def test_the_page_of_watch_with_a_serve(
    browser: Any,
    node: NodeStandin,
    watch_node: WatchNode,
    post_dirs: Callable[[int], list[Path]],
    tmp_path: Path,
) -> None:
    from mergetool.serve.service import Service

    token = "s3cret"  # serve's: watch reads its operator API with --operator-token
    service = Service(config_for(node.address, post_dirs(3), nonces=64, http_token=token))
    solver = service.solver = SteppedSolver(service.host)
    running = Running(service).start()
    config = tmp_path / "node-config.json"
    config.write_text(json.dumps({
        "api": {f"grpc-{n}-listener": watch_node.address(n) for n in ("private", "public", "post")},
        "poet": {"phase-shift": "9m", "cycle-gap": "2m", "grace-period": "1m"},
    }))  # fmt: skip
    watch = None
    try:
        node.wait_connected(NODE_IDS)
        host, port = service.operator_address  # type: ignore[misc]
        node.request_proof(NODE_IDS[0], CHALLENGE)
        solver.step()  # one k2pow group of four, then it waits
        watch = WatchProcess([
            "--config", str(config), "--operator", f"http://{host}:{port}",
            "--operator-token", token,
            "--http", "127.0.0.1:0", "--refresh-every", "0.3",
            "--state", str(tmp_path / "watch.sqlite"),
        ])  # fmt: skip
        logged = watch.of
        started = wait_until(lambda: logged("http"), 20, "the page's log line")
        url = started[0]["message"].removeprefix("operator page on ")
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")  # no token: loopback
        assert token not in json.dumps(watch.docs)
        watch_node.wait_subscribed(timeout=20)
        then = datetime.now(UTC)
        watch_node.publish(
            watch_node.event("beacon", at=then - timedelta(seconds=30), epoch=3, beacon=b"bb"),
            watch_node.event(
                "post_start", at=then - timedelta(seconds=10), smesher=NODE_IDS[0],
                challenge=CHALLENGE,
            ),
        )  # fmt: skip

        browser.get(url + "?poll_ms=200")
        found = wait_until(lambda: len(rows(browser)) == 3 and rows(browser), what="3 rows")
        assert [r["node_id"] for r in found] == [i.hex() for i in NODE_IDS]
        assert [r["name"] for r in found] == NAMES
        assert text(browser, "#source") == "from watch"
        verdicts = ["proving", "earning", "missed_epoch"]  # watch's: serve knows no "earning"
        wait_until(lambda: [r["verdict"] for r in rows(browser)] == verdicts, what="verdicts")
        alice = wait_until(
            lambda: rows(browser)[0]["max"] == 4 and rows(browser)[0]["value"] == 1
            and rows(browser)[0], what="1 group of 4",
        )  # fmt: skip
        assert "1 groups / 4 groups (25%)" in alice["text"] and "pass 1" in alice["text"]
        solver.step()  # serve's progress reaches the page through watch
        wait_until(lambda: rows(browser)[0]["value"] == 2, what="2 groups")

        assert text(browser, "#node-epoch").endswith("3")
        with urllib.request.urlopen(url + "api/page", timeout=5) as answer:
            clock = assert_valid(json.load(answer), "page")["clock"]  # from the node, its config
        gap = datetime.fromisoformat(clock["cycle_gap_start"])
        countdown = text(browser, "#gap-countdown")
        assert countdown.startswith("Next cycle gap starts in "), countdown
        left = (gap - datetime.now(UTC)).total_seconds()
        assert abs(seconds(countdown) - left) < 5, (countdown, left)
        kinds = wait_until(
            lambda: [k for k in browser.execute_script(
                "return Array.from(document.querySelectorAll('#events li'))"
                ".map(function (li) { return li.innerText; })") if "post_start" in k
                or "beacon" in k],
            what="events",
        )  # fmt: skip
        assert "post_start" in kinds[0] and "beacon" in kinds[-1]  # newest first

        watch.proc.send_signal(signal.SIGTERM)
        assert watch.proc.wait(15) == 0
        wait_until(lambda: browser.find_element("id", "banner").is_displayed(), 15, "banner")
        assert text(browser, "#banner").startswith("Connection lost since ")
        assert browser.find_element("tag name", "body").get_attribute("data-state") == "lost"
    finally:
        solver.step(1000)
        if watch is not None:
            watch.close()
        running.stop()


def test_http_needs_follow_and_a_token_off_loopback(tmp_path: Path) -> None:
    runner = CliRunner()
    alone = runner.invoke(cli, ["watch", "--http", "127.0.0.1:0"])
    assert alone.exit_code == 2
    assert alone.stderr == "Error: --http works with --follow only\n"
    token = runner.invoke(cli, ["watch", "--follow", "--http-token", "s3cret"])
    assert token.exit_code == 2
    assert token.stderr == "Error: --http-token works with --http only\n"
    state = str(tmp_path / "watch.sqlite")
    open_ = runner.invoke(cli, ["watch", "--follow", "--state", state, "--http", "0.0.0.0:0"])
    assert open_.exit_code == 2
    assert open_.stderr.startswith(
        "Error: the operator page would be open to the network on 0.0.0.0: give --http-token "
        "SECRET (or set MERGETOOL_HTTP_TOKEN), or bind to 127.0.0.1\n"
    )
    # MERGETOOL_HTTP_TOKEN alone (meant for --operator-token) does not ask for --http
    env = runner.invoke(cli, ["watch", "--webhook", "x"], env={"MERGETOOL_HTTP_TOKEN": "s"})
    assert env.stderr == "Error: --webhook works with --follow only\n"


def test_watch_page_with_a_token(watch_node: WatchNode, tmp_path: Path) -> None:
    token = "s3cret"
    watch = WatchProcess([
        "--private", watch_node.address("private"), "--public", watch_node.address("public"),
        "--http", "127.0.0.1:0", "--http-token", token, "--refresh-every", "0.3",
        "--state", str(tmp_path / "watch.sqlite"),
    ])  # fmt: skip
    try:
        logged = watch.of
        started = wait_until(lambda: logged("http"), 20, "the page's log line")
        message = started[0]["message"]
        assert message.endswith("/ (token required: open it as /?token=<the --http-token>)")
        assert token not in json.dumps(watch.docs)
        url = message.removeprefix("operator page on ").split(" ")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "api/page", timeout=5)
        assert refused.value.code == 401
        refused.value.close()

        def page() -> Any:
            with urllib.request.urlopen(f"{url}api/page?token={token}", timeout=5) as answer:
                return assert_valid(json.load(answer), "page")

        doc = wait_until(lambda: page()["identities"] and page(), what="the first report")
        assert [i["node_id"] for i in doc["identities"]] == [i.hex() for i in NODE_IDS]
        assert doc["source"] == "watch" and doc["clock"]["epoch"] == 3
    finally:
        watch.close()
