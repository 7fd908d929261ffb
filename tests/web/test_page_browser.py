"""The page in a real headless Chromium, over the real HTTP server, from a fixed document
with a known clock: rows, the cycle-gap countdown, the narrow layout, a lost connection,
and the token rule."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mergetool._http import HttpServer
from mergetool.web.app import PageApp
from tests.web.browser import rows, text, wait_until
from tests.web.sample_view import sample_view


class Clocked:
    """A view whose cycle gap starts at a fixed moment (``gap_at``), generated now."""

    def __init__(self, gap_in_s: float) -> None:
        self.gap_at = time.time() + gap_in_s

    def __call__(self) -> dict[str, Any]:
        now = time.time()
        return sample_view(now, gap_in_s=self.gap_at - now)


@pytest.fixture
def page() -> Iterator[tuple[str, Clocked, HttpServer]]:
    """The page of a Clocked view (gap in 90 s), polled every 0.3 s; (url, view, server)."""
    view = Clocked(90.0)
    server = HttpServer("127.0.0.1:0", PageApp(view, poll_s=0.3)).start()
    try:
        host, port = server.address
        yield f"http://{host}:{port}/", view, server
    finally:
        server.stop()  # (a second stop, after a test stopped it, does nothing)


def seconds(countdown: str) -> int:
    h, m, s = re.search(r"(?:(\d+)h )?(\d+)m (\d+)s", countdown).groups()  # type: ignore[union-attr]
    return int(h or 0) * 3600 + int(m) * 60 + int(s)


def test_rows_countdown_and_gap(browser: Any, page: tuple[str, Clocked, HttpServer]) -> None:
    url, view, _ = page
    browser.set_window_size(1280, 900)
    browser.get(url)
    found = wait_until(lambda: rows(browser))
    assert [r["node_id"] for r in found] == ["a1" * 32, "b2" * 32, "c3" * 32]
    assert [r["name"] for r in found] == ["alice", "bob", "carol"]
    assert found[2]["verdict"] == "post_failed" and "level-bad" in found[2]["verdict_class"]
    assert "PoST failed: proof will be late" in found[2]["verdict_text"]  # words, not colour
    assert "after the cycle gap ends" in found[2]["text"]  # the late ETA is flagged
    assert "after the cycle gap" not in found[1]["text"]
    assert found[1]["value"] / found[1]["max"] == 0.375
    assert "96.0 GiB / 256.0 GiB (37%)" in found[1]["text"]
    assert re.search(r"ETA \d\d:\d\d:\d\d UTC \(in (1h 59m|2h 00m) ", found[1]["text"])
    assert text(browser, "#node-sync") == "synced" and text(browser, "#node-epoch") == "27"

    first = seconds(wait_until(lambda: text(browser, "#gap-countdown")))
    assert text(browser, "#gap-countdown").startswith("Next cycle gap starts in 1m ")
    assert 80 <= first <= 90
    wait_until(lambda: seconds(text(browser, "#gap-countdown")) <= first - 2, 10, "a tick")
    assert "UTC" in text(browser, "#gap-times") and "in your time zone" in text(
        browser, "#gap-times"
    )

    view.gap_at = time.time() - 60  # the gap began a minute ago
    wait_until(lambda: text(browser, "#gap-countdown").startswith("In the cycle gap: 11h 5"), 10)
    assert browser.find_element("id", "gap").get_attribute("data-phase") == "in"
    assert text(browser, "#gap-countdown").endswith(" left")
    events = browser.execute_script(
        "return Array.from(document.querySelectorAll('#events li'))"
        ".map(function (li) { return [li.className, li.innerText]; })"
    )
    assert [e[0] for e in events] == ["failure", ""]  # newest first
    assert "No proof in the first nonces" in events[0][1]


def test_narrow_window_stacks_the_cells(
    browser: Any, page: tuple[str, Clocked, HttpServer]
) -> None:
    url, _, _ = page
    browser.set_window_size(400, 900)
    try:
        browser.get(url)
        wait_until(lambda: rows(browser))
        width = browser.execute_script("return window.innerWidth")
        assert width <= 400
        scroll = browser.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width, "the page scrolls sideways at 400 px"
        display = browser.execute_script(
            "return getComputedStyle(document.querySelector('#identities tbody td')).display"
        )
        assert display != "table-cell"
        assert not browser.find_element("css selector", "#identities thead").is_displayed()
    finally:
        browser.set_window_size(1280, 900)


def test_a_lost_connection_is_shown_as_such(
    browser: Any, page: tuple[str, Clocked, HttpServer]
) -> None:
    url, _, server = page
    browser.get(url)
    wait_until(lambda: rows(browser))
    banner = browser.find_element("id", "banner")
    assert not banner.is_displayed()
    assert browser.find_element("tag name", "body").get_attribute("data-state") == "live"
    server.stop()
    wait_until(lambda: banner.is_displayed(), 15, "the banner")
    assert banner.text.startswith("Connection lost since ")
    assert "may be out of date" in banner.text
    assert browser.find_element("tag name", "body").get_attribute("data-state") == "lost"
    assert "STALE, not current" in text(browser, "#updated")
    # The server comes back on the same port: the page recovers by itself.
    host, port = server.address
    again = HttpServer(f"{host}:{port}", PageApp(Clocked(90.0), poll_s=0.3)).start()
    try:
        wait_until(lambda: not banner.is_displayed(), 15, "the banner to go")
        assert "STALE" not in text(browser, "#updated")
    finally:
        again.stop()


def test_the_token_rule(browser: Any) -> None:
    server = HttpServer("127.0.0.1:0", PageApp(Clocked(90.0), "s3cret", poll_s=0.3)).start()
    try:
        host, port = server.address
        browser.get(f"http://{host}:{port}/")
        assert "a token is required" in browser.find_element("tag name", "body").text
        assert not browser.find_elements("css selector", "#identities")
        browser.get(f"http://{host}:{port}/?token=s3cret")
        assert (
            len(wait_until(lambda: rows(browser))) == 3
        )  # the page's own requests carried the token
        assert browser.find_element("tag name", "body").get_attribute("data-state") == "live"
        time.sleep(0.7)  # a few more polls, still accepted
        assert browser.find_element("tag name", "body").get_attribute("data-state") == "live"
    finally:
        server.stop()
