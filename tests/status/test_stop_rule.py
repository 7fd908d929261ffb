"""The stop rule and the service-state words, without a network."""

from __future__ import annotations

import pytest

from mergetool.status.model import ServiceState
from mergetool.status.safety import judge

URL = "http://127.0.0.1:1/status"


@pytest.mark.parametrize(
    ("service", "text"),
    [
        (ServiceState(URL, "idle"), "idle"),
        (ServiceState(URL, "idle", connected=False), "not connected"),
        (ServiceState(URL, "done"), "done, not fetched"),
        (ServiceState(URL, "proving", phase="k2pow"), "k2pow"),
        (ServiceState(URL, "proving", phase="k2pow", k2pow_groups=(3, 8)), "k2pow (3/8 groups)"),
        (
            ServiceState(URL, "proving", phase="reading", bytes_read=40, bytes_total=100),
            "reading 40 %",
        ),
        (
            ServiceState(URL, "proving", phase="reading", bytes_read=3 << 30),
            "reading, 3.0 GiB read",
        ),
        (ServiceState(URL, "proving", phase="waiting-for-disk"), "waiting for disk"),
        (ServiceState(URL, "proving", phase="verifying"), "verifying the proof"),
        (ServiceState(URL, "proving", phase="saving"), "saving the proof"),
        (ServiceState(URL, "proving", connected=False, phase="k2pow"), "not connected, k2pow"),
        (ServiceState(URL, "proving"), "proving"),
    ],
)
def test_service_state_words(service: ServiceState, text: str) -> None:
    assert service.describe() == text


def test_safe_only_when_the_node_is_idle_and_the_service_not_proving() -> None:
    idle = ServiceState(URL, "idle")
    assert judge("IDLE", idle, None) == (True, "the node is IDLE and the service is not proving")
    assert judge("IDLE", ServiceState(URL, "idle", connected=False), None)[0] is True
    assert judge("PROVING", idle, None) == (False, "the node is waiting for a proof (PROVING)")
    assert judge("IDLE", ServiceState(URL, "proving", phase="k2pow"), None) == (
        False,
        "the service is proving (k2pow)",
    )
    assert judge("IDLE", ServiceState(URL, "done"), None) == (
        False,
        "the service holds a proof the node has not fetched yet",
    )
    assert judge("UNUSED", idle, None) == (False, "the node reports UNUSED, not IDLE")


def test_anything_unknown_is_not_safe() -> None:
    assert judge("IDLE", None, "its service at http://x did not answer") == (
        False,
        "its service at http://x did not answer",
    )
    assert judge(None, ServiceState(URL, "idle"), None) == (
        False,
        "the node does not list this identity (is --node the right node?)",
    )
    assert judge("PROVING", None, None) == (
        False,
        "the node is waiting for a proof (PROVING); its service's state is unknown",
    )
