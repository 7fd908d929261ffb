"""RemoteK2pow against our k2pow-service and against scripted servers (201, 429, 500, ...)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from mergetool._exceptions import InvalidParameters, K2powCancelled, RemoteK2powFailed
from mergetool.k2pow.client import RemoteK2pow
from mergetool.k2pow.service import K2powService
from mergetool.post.pow import find_pow
from tests.k2pow_stubs import StubServer

NODE_ID = bytes(range(32))
CHALLENGE = bytes(range(100, 132))
EASY = b"\xff" * 32  # every pow solves it, so 0 is the answer a server gives
ONE_IN_8 = b"\x20" + b"\xff" * 31


def _client(url: str, **kwargs: float) -> RemoteK2pow:
    return RemoteK2pow(url, **{"retry_interval_s": 0.01, "timeout_s": 5.0, **kwargs})  # type: ignore[arg-type]


def _path(group: int, target: bytes = EASY) -> str:
    return f"/job/{NODE_ID.hex()}/{group}/{CHALLENGE[:8].hex()}/{target.hex()}"


def test_results_from_our_service_equal_local_k2pow(service: K2powService) -> None:
    url = f"http://127.0.0.1:{service.address[1]}"
    seen: list[tuple[int, int]] = []
    pows = _client(url).solve_groups(
        NODE_ID, [0, 1, 2], CHALLENGE, ONE_IN_8, on_group=lambda g, p: seen.append((g, p))
    )
    local = {g: find_pow(g, CHALLENGE, NODE_ID, ONE_IN_8) for g in (0, 1, 2)}
    assert pows == local
    assert sorted(seen) == sorted(local.items())


@pytest.mark.parametrize("waiting", [201, 429])
def test_retries_while_the_job_runs_or_workers_are_busy(
    stub_server: Callable[..., StubServer], waiting: int
) -> None:
    stub = stub_server(lambda path, seen: (waiting, "wait") if seen < 2 else (200, "0\n"))
    assert _client(stub.url).solve_groups(NODE_ID, [5], CHALLENGE, EASY) == {5: 0}
    assert stub.paths == [_path(5)] * 3


def test_a_base_url_with_a_path_prefix_is_kept(stub_server: Callable[..., StubServer]) -> None:
    stub = stub_server(lambda path, seen: (200, "0"))
    _client(stub.url + "/k2pow/").solve_groups(NODE_ID, [1], CHALLENGE, EASY)
    assert stub.paths == ["/k2pow" + _path(1)]


def test_a_server_error_names_the_url_status_and_body(
    stub_server: Callable[..., StubServer],
) -> None:
    stub = stub_server(lambda path, seen: (500, "worker crashed"))
    with pytest.raises(RemoteK2powFailed) as caught:
        _client(stub.url).solve_groups(NODE_ID, [3], CHALLENGE, EASY)
    assert str(caught.value) == (
        f"remote k2pow {stub.url}{_path(3)}: failed: HTTP 500: 'worker crashed'"
    )
    assert (caught.value.status, caught.value.body) == (500, "worker crashed")


def test_an_unexpected_status_is_an_error(stub_server: Callable[..., StubServer]) -> None:
    stub = stub_server(lambda path, seen: (404, "no such route"))
    with pytest.raises(RemoteK2powFailed, match="answered unexpectedly: HTTP 404: 'no such route'"):
        _client(stub.url).solve_groups(NODE_ID, [3], CHALLENGE, EASY)


@pytest.mark.parametrize("body", ["abc", "-1", "18446744073709551616", ""])
def test_a_garbage_answer_is_an_error(stub_server: Callable[..., StubServer], body: str) -> None:
    stub = stub_server(lambda path, seen: (200, body))
    with pytest.raises(RemoteK2powFailed) as caught:
        _client(stub.url).solve_groups(NODE_ID, [0], CHALLENGE, EASY)
    assert caught.value.reason == f"answered 200 with {body!r}, not a pow"


def test_a_pow_that_misses_the_target_is_refused(stub_server: Callable[..., StubServer]) -> None:
    stub = stub_server(lambda path, seen: (200, "7"))
    impossible = bytes(32)
    with pytest.raises(RemoteK2powFailed) as caught:
        _client(stub.url).solve_groups(NODE_ID, [2], CHALLENGE, impossible)
    assert str(caught.value).startswith(
        f"remote k2pow {stub.url}{_path(2, impossible)}: "
        "pow 7 for nonce group 2 does not meet the target\n"
    )


def test_a_closed_port_is_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RemoteK2powFailed) as caught:
        _client(f"http://127.0.0.1:{port}").solve_groups(NODE_ID, [0], CHALLENGE, EASY)
    assert caught.value.reason == "connection refused"
    assert caught.value.url.startswith(f"http://127.0.0.1:{port}/job/")
    assert "Is the k2pow-service running there" in str(caught.value)


def test_a_slow_server_times_out(stub_server: Callable[..., StubServer]) -> None:
    stub = stub_server(lambda path, seen: (200, "0"), delay_s=1.0)
    started = time.monotonic()
    with pytest.raises(RemoteK2powFailed) as caught:
        _client(stub.url, timeout_s=0.2).solve_groups(NODE_ID, [0], CHALLENGE, EASY)
    assert caught.value.reason == "no answer within 0.2 s"
    assert time.monotonic() - started < 1.0


def test_at_most_parallelism_requests_are_in_flight(
    stub_server: Callable[..., StubServer],
) -> None:
    stub = stub_server(lambda path, seen: (201, "") if seen == 0 else (200, "0"), delay_s=0.03)
    groups = list(range(8))
    pows = _client(stub.url, parallelism=3).solve_groups(NODE_ID, groups, CHALLENGE, EASY)
    assert pows == dict.fromkeys(groups, 0)
    assert stub.peak == 3
    assert len(stub.paths) == 16


def test_cancelling_stops_waiting_and_keeps_what_was_solved(
    stub_server: Callable[..., StubServer],
) -> None:
    stub = stub_server(lambda path, seen: (200, "0") if "/0/" in path else (201, "running"))
    solved = threading.Event()
    with pytest.raises(K2powCancelled) as caught:
        _client(stub.url).solve_groups(
            NODE_ID, [0, 1], CHALLENGE, EASY, cancelled=solved.is_set,
            on_group=lambda g, p: solved.set(),
        )  # fmt: skip
    assert caught.value.solved == {0: 0}
    assert str(caught.value) == "k2pow cancelled with 1 of 2 nonce groups solved"
    # nothing keeps polling after the call returned: every thread that asks has ended
    assert not [t for t in threading.enumerate() if t.name.startswith("remote-k2pow")]


@pytest.mark.parametrize(
    ("url", "kwargs", "message"),
    [
        ("localhost:3000", {}, "remote k2pow URL must look like http://HOST:PORT"),
        ("http://host:x", {}, "remote k2pow URL 'http://host:x': bad port"),
        ("http://host:3000", {"parallelism": 0}, "parallelism must be >= 1, got 0"),
    ],
)
def test_bad_settings_are_refused(url: str, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidParameters, match=message.replace("?", r"\?")):
        RemoteK2pow(url, **kwargs)  # type: ignore[arg-type]
