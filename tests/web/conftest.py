"""Page fixtures: one headless Chromium for the module (skipped only when none is installed),
and the serve fixtures (node stand-in, PoST folders) shared with tests/serve."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.serve.conftest import node, post_dirs, post_templates  # noqa: F401 - fixtures
from tests.web.browser import chromium, why_no_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (Selenium + the system chromedriver), 1280x900 to start with."""
    reason = why_no_browser()
    if reason is not None:
        pytest.skip(f"no browser for the page tests: {reason}")
    with chromium() as driver:
        yield driver
