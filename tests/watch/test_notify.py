"""Alert delivery over a real HTTP webhook receiver and a real alert command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mergetool._exceptions import InvalidParameters
from mergetool.watch.alerts import Alert
from mergetool.watch.notify import AlertCommand, Notifier, Webhook
from tests.watch.receivers import alert_command, read_alerts, webhook_receiver

ALERT = Alert("banned:aa", "banned", "firing", 1_700_000_000.0, "alice: banned", "aa", "alice")


class Logs:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, level: str, message: str, fields: dict[str, Any]) -> None:
        self.lines.append((level, message))


def _notifier(channels: list[Any], logs: Logs, **kw: float) -> Notifier:
    settings = {"attempt_timeout_s": 0.5, "give_up_after_s": 2.0, "first_retry_s": 0.05}
    return Notifier(channels, log=logs, **{**settings, **kw}).start()  # type: ignore[arg-type]


def test_webhook_and_command_get_the_alert(tmp_path: Path) -> None:
    logs = Logs()
    command, out = alert_command(tmp_path)
    with webhook_receiver() as hook:
        notifier = _notifier([Webhook(hook.url), AlertCommand(command)], logs)
        assert notifier.submit(ALERT)
        (doc,) = hook.wait_for(1)
        notifier.stop(5)
    assert doc["text"] == doc["content"] == "CRITICAL: alice: banned"
    assert doc["cause"] == "banned:aa" and doc["state"] == "firing"
    (ran,) = read_alerts(out, 1)
    assert ran["cause"] == "banned:aa"
    assert ran["env"]["MERGETOOL_ALERT_CAUSE"] == "banned:aa"
    assert ran["env"]["MERGETOOL_ALERT_STATE"] == "firing"
    assert all("secret-token" not in m for _, m in logs.lines)  # the URL's path is a secret


def test_a_failing_receiver_is_retried_until_it_answers() -> None:
    logs = Logs()
    with webhook_receiver("fail", failures=2) as hook:
        notifier = _notifier([Webhook(hook.url)], logs)
        notifier.submit(ALERT)
        assert len(hook.wait_for(1)) == 1
        notifier.stop(5)
    assert hook.requests == 3
    assert [lvl for lvl, _ in logs.lines] == ["warning", "warning", "info"]
    assert "HTTP 500" in logs.lines[0][1]


@pytest.mark.parametrize("mode", ["hang", "trickle", "fail"])
def test_a_bad_receiver_is_given_up_within_the_bound(mode: str) -> None:
    logs = Logs()
    with webhook_receiver(mode, failures=10**6) as hook:
        notifier = _notifier([Webhook(hook.url)], logs)
        started = time.monotonic()
        notifier.submit(ALERT)
        assert time.monotonic() - started < 0.1  # submitting never waits on the channel
        while not notifier.outcomes and time.monotonic() - started < 10:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        notifier.stop(1)
    assert list(notifier.outcomes) == [(f"webhook http://127.0.0.1:{hook.url.split(':')[2].split('/')[0]}",
                                  "banned:aa", "firing", "given up")]  # fmt: skip
    assert elapsed < 2.0 + 0.5 + 1.0  # give_up_after_s, one attempt's timeout, slack
    assert hook.requests >= 2
    assert logs.lines[-1][0] == "error" and "gave up" in logs.lines[-1][1]


def test_a_rejecting_receiver_is_not_retried_and_a_bad_command_is_logged(tmp_path: Path) -> None:
    logs = Logs()
    with webhook_receiver("reject") as hook:
        notifier = _notifier(
            [Webhook(hook.url), AlertCommand(f"{tmp_path}/no-such-program --flag")], logs
        )
        notifier.submit(ALERT)
        deadline = time.monotonic() + 5
        while len(notifier.outcomes) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        notifier.stop(1)
    assert hook.requests == 1
    assert [o[3] for o in notifier.outcomes] == ["given up", "given up"]
    assert "HTTP 404" in logs.lines[0][1] and "cannot run it" in logs.lines[1][1]


def test_a_hanging_command_is_killed(tmp_path: Path) -> None:
    logs = Logs()
    notifier = _notifier([AlertCommand("sleep 30")], logs, give_up_after_s=0.6)
    started = time.monotonic()
    notifier.submit(ALERT)
    while not notifier.outcomes and time.monotonic() - started < 10:
        time.sleep(0.02)
    notifier.stop(1)
    assert notifier.outcomes[0][3] == "given up"
    assert time.monotonic() - started < 3
    assert "killed" in logs.lines[0][1]


def test_a_full_queue_drops_and_logs_never_blocks() -> None:
    logs = Logs()
    with webhook_receiver("hang") as hook:
        notifier = _notifier([Webhook(hook.url)], logs, queue_size=2)  # type: ignore[arg-type]
        results = [notifier.submit(ALERT) for _ in range(6)]
        assert results.count(False) >= 3
        assert any("alert queue full" in m for _, m in logs.lines)
        started = time.monotonic()
        notifier.stop(0.5)
        assert time.monotonic() - started < 0.5 + 0.5 + 0.5


def test_bad_channel_settings_are_refused() -> None:
    with pytest.raises(InvalidParameters, match="not an http:// or https:// URL"):
        Webhook("ftp://example/hook")
    with pytest.raises(InvalidParameters, match="alert command is empty"):
        AlertCommand("  ")
    with pytest.raises(InvalidParameters, match="No closing quotation"):
        AlertCommand("notify 'unclosed")
