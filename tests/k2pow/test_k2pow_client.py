"""RemoteK2pow against our k2pow-service and against scripted servers (201, 429, 500, ...)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from mergetool._exceptions import InvalidParameters, K2powCancelled, RemoteK2powFailed
from mergetool.k2pow.client import RemoteK2pow, RemoteK2powUnavailable
from mergetool.k2pow.service import K2powService
from mergetool.post.pow import find_pow
from tests.k2pow_stubs import StubServer, trickling_server

NODE_ID = bytes(range(32))
CHALLENGE = bytes(range(100, 132))
EASY = b"\xff" * 32  # every pow solves it, so 0 is the answer a server gives
ONE_IN_8 = b"\x20" + b"\xff" * 31


def _client(url: str, **kwargs: float) -> RemoteK2pow:
    defaults = {"retry_interval_s": 0.01, "backoff_s": 0.02, "timeout_s": 5.0}
    return RemoteK2pow(url, **{**defaults, **kwargs})  # type: ignore[arg-type]


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
        _client(stub.url, fail_after_s=0).solve_groups(NODE_ID, [3], CHALLENGE, EASY)
    assert str(caught.value) == (
        f"remote k2pow {stub.url}{_path(3)}: failed: HTTP 500: 'worker crashed'; failing for 0 s"
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
        _client(f"http://127.0.0.1:{port}", fail_after_s=0).solve_groups(
            NODE_ID, [0], CHALLENGE, EASY
        )
    assert caught.value.reason == "connection refused; failing for 0 s"
    assert caught.value.url.startswith(f"http://127.0.0.1:{port}/job/")
    assert "Is the k2pow-service running there" in str(caught.value)


def test_a_slow_server_times_out(stub_server: Callable[..., StubServer]) -> None:
    stub = stub_server(lambda path, seen: (200, "0"), delay_s=1.0)
    started = time.monotonic()
    with pytest.raises(RemoteK2powFailed) as caught:
        _client(stub.url, timeout_s=0.2, fail_after_s=0).solve_groups(NODE_ID, [0], CHALLENGE, EASY)
    assert caught.value.reason == "no answer within 0.2 s; failing for 0 s"
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


def test_5xx_and_no_answer_are_retried_with_back_off_and_reported(
    stub_server: Callable[..., StubServer],
) -> None:
    stub = stub_server(lambda path, seen: (503, "restarting") if seen < 2 else (200, "0"))
    problems: list[tuple[bytes, str | None]] = []
    client = _client(stub.url, on_problem=lambda n, p: problems.append((n, p)))
    assert client.solve_groups(NODE_ID, [4], CHALLENGE, EASY) == {4: 0}
    assert len(stub.paths) == 3
    failing = f"remote k2pow {stub.url}{_path(4)}: failed: HTTP 503: 'restarting'"
    assert problems == [
        (NODE_ID, f"{failing}; asking again every 0.02 s"),
        (NODE_ID, f"{failing}; asking again every 0.02 s"),
        (NODE_ID, None),  # works again
    ]


def test_a_k2pow_service_restarted_mid_job_is_waited_for() -> None:
    first = K2powService("127.0.0.1:0", cores=1).start()
    address = f"127.0.0.1:{first.address[1]}"
    url = f"http://{address}"
    result: dict[str, object] = {}

    def solve() -> None:
        try:
            result["pows"] = _client(url, backoff_s=0.1).solve_groups(
                NODE_ID, [0, 1], CHALLENGE, ONE_IN_8
            )
        except Exception as exc:  # noqa: BLE001 - handed to the test
            result["error"] = exc

    thread = threading.Thread(target=solve)
    thread.start()
    time.sleep(0.3)
    first.stop()  # mid-job: its results are lost
    time.sleep(0.5)  # down for a while: connections refused
    with K2powService(address, cores=1):
        thread.join(30)
    assert not thread.is_alive()
    assert result == {"pows": {g: find_pow(g, CHALLENGE, NODE_ID, ONE_IN_8) for g in (0, 1)}}


def test_a_trickling_server_is_cut_off_by_the_total_deadline() -> None:
    with trickling_server(0.1) as url:
        client = _client(url, timeout_s=0.5, fail_after_s=1.0)
        started = time.monotonic()
        with pytest.raises(RemoteK2powUnavailable) as caught:
            client.solve_groups(NODE_ID, [0], CHALLENGE, EASY)
        assert time.monotonic() - started < 3
    assert caught.value.reason.startswith("no answer within 0.5 s; failing for ")


def test_a_trickling_server_does_not_delay_cancelling() -> None:
    with trickling_server(0.1) as url:
        stop = threading.Timer(0.3, lambda: None)
        stop.start()
        started = time.monotonic()
        with pytest.raises(K2powCancelled):
            _client(url, timeout_s=30).solve_groups(
                NODE_ID, [0], CHALLENGE, EASY, cancelled=lambda: not stop.is_alive()
            )
        assert time.monotonic() - started < 2
