"""Our k2pow-service for the k2pow tests (the scripted servers: ``stub_server``, tests/conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mergetool.k2pow.service import K2powService


@pytest.fixture
def service() -> Iterator[K2powService]:
    """Our k2pow-service on 127.0.0.1 (any port), 2 workers, RandomX light mode."""
    with K2powService("127.0.0.1:0", cores=2) as running:
        yield running
