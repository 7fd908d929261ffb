"""Headless Chromium for the page tests (Debian's ``chromium`` + ``chromium-driver``).

Selenium is pointed at the system driver and told to stay offline, so it never downloads a
browser or a driver; ``why_no_browser()`` is the reason a test skips when either is missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip


def why_no_browser() -> str | None:
    """None when a browser can run here, else why not (the skip reason)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"no {path}: install Debian's {package} (apt-get install {package})"
    return None


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium WebDriver with a fresh profile; quit and removed afterwards."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never fetch anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mergetool-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``predicate`` (exceptions count as not yet) until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - the page may be mid-render
            error = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}; last error: {error!r}")


def text(driver: Any, css: str) -> str:
    return str(driver.find_element("css selector", css).text)


#: The identity rows as plain values, read in one go (the page re-renders while we look).
_ROWS_JS = """
return Array.from(document.querySelectorAll('#identities tbody tr')).map(function (tr) {
  var v = tr.querySelector('.verdict'), bar = tr.querySelector('progress');
  var name = tr.querySelector('.name');
  return {node_id: tr.dataset.nodeId, name: name ? name.textContent : null,
          text: tr.innerText, verdict: v.dataset.code, verdict_text: v.textContent,
          verdict_class: v.className, value: bar ? Number(bar.value) : null,
          max: bar ? Number(bar.max) : null};
});
"""


def rows(driver: Any) -> list[dict[str, Any]]:
    """Each identity row: node_id, name, text, verdict (code), verdict_text, verdict_class,
    value/max of its progress bar (None without one)."""
    return list(driver.execute_script(_ROWS_JS))
