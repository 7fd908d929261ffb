"""``mergetool watch --follow`` as a process (SIGTERM clean, JSON log lines, metrics, alerts)
and ``watch --history NAME`` over what it recorded."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from mergetool.cli.main import cli
from tests.schema_check import assert_valid, loads_valid
from tests.watch.follow_fixtures import ALICE, BOB, INVALID, follow_node  # noqa: F401
from tests.watch.node_standin import WatchNode, wait_until
from tests.watch.receivers import alert_command, read_alerts, webhook_receiver

_MAIN = "from mergetool.cli.main import main; main()"


class Lines:
    """The JSON log lines of a process, read by a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.docs: list[dict[str, Any]] = []
        self.other: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                self.docs.append(json.loads(line))
            except ValueError:
                self.other.append(line)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in list(self.docs) if d["event"] == kind]


def test_follow_runs_until_sigterm_and_history_tells_what_it_saw(
    follow_node: WatchNode,  # noqa: F811
    tmp_path: Path,
) -> None:
    node = follow_node
    state = tmp_path / "state" / "watch.sqlite"
    command, out = alert_command(tmp_path)
    with webhook_receiver() as hook:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "watch", "--follow",
             "--private", node.address("private"), "--public", node.address("public"),
             "--post", node.address("post"), "--state", str(state), "--refresh-every", "0.2",
             "--webhook", hook.url, "--alert-command", command,
             "--metrics-address", "127.0.0.1:0", "--log-format", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            lines = Lines(proc)
            wait_until(lambda: lines.of("metrics"), 20)
            url = lines.of("metrics")[0]["message"].removeprefix("metrics on ")
            node.wait_subscribed(timeout=20)
            node.publish(
                node.event("post_start", smesher=ALICE, challenge=b"c" * 32),
                node.event("post_complete", failure=True, help=INVALID, smesher=ALICE),
            )
            assert [d["state"] for d in hook.wait_for(1)] == ["firing"]
            assert read_alerts(out, 1)[0]["env"]["MERGETOOL_ALERT_NAME"] == "alice"
            wait_until(lambda: lines.of("post_complete"))
            failed = lines.of("post_complete")[0]
            assert (failed["name"], failed["identity"], failed["level"]) == (
                "alice", ALICE.hex(), "error"
            )  # fmt: skip
            with urllib.request.urlopen(url, timeout=5) as answer:
                scraped = answer.read().decode()
            assert f'mergetool_watch_verdict{{identity="{ALICE.hex()}"' in scraped
            assert 'mergetool_watch_alerts_firing{kind="post_failed"} 1.0' in scraped
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
            assert time.monotonic() - started < 12
            lines.thread.join(5)
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()  # type: ignore[union-attr]
            proc.stdout.close()  # type: ignore[union-attr]
    assert lines.docs[-1]["event"] == "stopped"
    assert lines.other == []
    for doc in lines.docs:
        assert_valid(doc, "watch-log")

    runner = CliRunner()
    result = runner.invoke(cli, ["watch", "--history", "alice", "--state", str(state)])
    assert result.exit_code == 0, result.output
    text = result.output.splitlines()
    assert text[0] == f"alice ({ALICE.hex()})"
    assert any("ATX published in epoch 2: eligible in epoch 3" in t for t in text)
    assert any("node asked for a proof" in t for t in text)
    assert any(f"PoST failed: {INVALID} (after" in t for t in text)
    as_json = runner.invoke(cli, ["watch", "--history", BOB.hex()[:10], "--state", str(state),
                                  "--json"])  # fmt: skip
    assert as_json.exit_code == 0, as_json.output
    assert loads_valid(as_json.output, "watch-history")["name"] == "bob"


def test_follow_flags_are_checked(tmp_path: Path) -> None:
    runner = CliRunner()
    alone = runner.invoke(cli, ["watch", "--webhook", "http://127.0.0.1:1/x"])
    assert alone.exit_code == 2
    assert "Error: --webhook works with --follow only" in alone.output
    both = runner.invoke(cli, ["watch", "--follow", "--history", "alice"])
    assert both.exit_code == 2
    bad_hook = runner.invoke(
        cli, ["watch", "--follow", "--state", str(tmp_path / "s"), "--webhook", "ftp://x/y"]
    )
    assert bad_hook.exit_code == 2
    assert "Error: webhook 'ftp://x/y' is not an http:// or https:// URL" in bad_hook.output
    missing = runner.invoke(cli, ["watch", "--history", "alice", "--state", str(tmp_path / "no")])
    assert missing.exit_code == 1
    assert f"Error: {tmp_path / 'no'}: no watch history here" in missing.output
    assert not (tmp_path / "no").exists()


def test_a_newer_state_file_is_refused_by_the_cli(tmp_path: Path) -> None:
    state = tmp_path / "watch.sqlite"
    with sqlite3.connect(state) as conn:
        conn.execute("PRAGMA user_version = 99")
    result = CliRunner().invoke(cli, ["watch", "--history", "alice", "--state", str(state)])
    assert result.exit_code == 1
    assert "written by a newer mergetool" in result.output
    assert "Traceback" not in result.output
