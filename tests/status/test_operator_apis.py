"""Operator APIs over real loopback HTTP: post-rs ``/status`` and ``mergetool serve``'s
``/identities``; every answer that is not the documented shape is a clear error."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from mergetool._exceptions import InvalidParameters, Unreachable
from mergetool.serve.post_rs import OperatorServer
from mergetool.status.model import ServiceState
from mergetool.status.operators import (
    OperatorSpec,
    parse_operator,
    parse_post_rs_status,
    read_post_rs_status,
    read_serve_identities,
)
from tests.status.status_helpers import ALPHA, BETA, IdentitiesServer, serve_entry, url_of


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("http://127.0.0.1:50051", OperatorSpec("http://127.0.0.1:50051")),
        ("127.0.0.1:50051/", OperatorSpec("http://127.0.0.1:50051")),
        ("alpha=127.0.0.1:1", OperatorSpec("http://127.0.0.1:1", "alpha")),
        ("alpha.key=https://h:1", OperatorSpec("https://h:1", "alpha.key")),
        ("http://[::1]:1/api", OperatorSpec("http://[::1]:1/api")),
    ],
)
def test_operator_values(text: str, spec: OperatorSpec) -> None:
    assert parse_operator(text) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("=http://h:1", "--operator 'http://h:1': NAME before '=' is empty"),
        (
            "ftp://h:1",
            "--operator 'ftp://h:1': expected an http(s) URL like http://127.0.0.1:50051",
        ),
    ],
)
def test_bad_operator_values(text: str, message: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        parse_operator(text)
    assert str(info.value) == message and info.value.exit_code == 2


def test_post_rs_states_over_http(post_rs: OperatorServer) -> None:
    url = url_of(post_rs)
    assert read_post_rs_status(url, 2) == ServiceState(url + "/status", "idle")
    post_rs.set_proving(0, 128, 0)
    assert read_post_rs_status(url, 2).describe() == "k2pow"
    post_rs.set_proving(0, 128, 5 << 20)
    state = read_post_rs_status(url, 2)
    assert (state.kind, state.phase, state.bytes_read) == ("proving", "reading", 5 << 20)
    post_rs.set_done()
    assert read_post_rs_status(url, 2).describe() == "done, not fetched"


@pytest.mark.parametrize(
    "value", ["Busy", {"Proving": {"nonces": {}}}, {"Proving": {"position": -1}}, [1], None]
)
def test_an_unknown_post_rs_status(value: Any) -> None:
    with pytest.raises(Unreachable, match="answered an unknown status"):
        parse_post_rs_status("http://h:1/status", value)


def test_a_mergetool_serve_given_as_name_url_says_how_to_name_it() -> None:
    with pytest.raises(Unreachable) as info:
        parse_post_rs_status("http://h:1/status", {ALPHA.hex(): "Idle", "b2" * 32: "Idle"})
    assert str(info.value) == (
        "http://h:1/status: answered the status of several identities\n"
        "This is a `mergetool serve`: give it as --operator URL, without NAME=."
    )


def test_serve_identities_over_http(serve_api: IdentitiesServer) -> None:
    phase = {
        "name": "reading", "pass": 2, "bytes_read": 25, "bytes_total": 100,
        "rate_bytes_s": 12.5, "eta_s": 6, "k2pow_groups_done": 8, "k2pow_groups_total": 8,
    }  # fmt: skip
    serve_api.serve(serve_entry(ALPHA, "proving", phase=phase, name="alpha.key"))
    [(node_id, state)] = read_serve_identities(url_of(serve_api), 2)
    assert node_id == ALPHA
    assert (state.describe(), state.name, state.connected) == ("reading 25 %", "alpha.key", True)
    assert state.source == url_of(serve_api) + "/identities"
    assert (state.pass_number, state.rate_bytes_s, state.eta_s) == (2, 12.5, 6.0)


def test_a_failed_attempt_and_a_current_problem_are_shown_not_idle(
    serve_api: IdentitiesServer,
) -> None:
    error = "remote k2pow http://k:3000/job/…: failed: HTTP 500: 'randomx exploded'"
    serve_api.serve(
        serve_entry(ALPHA, "idle", last_error=error),
        serve_entry(BETA, "proving", phase={"name": "k2pow"}, problem=error + "; asking again"),
    )
    states = [s.describe() for _, s in read_serve_identities(url_of(serve_api), 2)]
    assert states == [f"last attempt failed: {error}", f"k2pow; {error}; asking again"]


def test_negative_counts_from_serve_are_ignored(serve_api: IdentitiesServer) -> None:
    phase = {"name": "k2pow", "k2pow_groups_done": -1, "k2pow_groups_total": -3}
    reading = {"name": "reading", "bytes_read": 5 << 40, "bytes_total": -10}
    serve_api.serve(
        serve_entry(ALPHA, "proving", phase=phase), serve_entry(BETA, "proving", phase=reading)
    )
    states = [s.describe() for _, s in read_serve_identities(url_of(serve_api), 2)]
    assert states == ["k2pow", "reading, 5120.0 GiB read"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], 'answered without an "identities" list'),
        ({"identities": [{"node_id": "ab"}]}, "answered an identity without a 64-hex node_id"),
        (
            {"identities": [serve_entry(ALPHA, "busy")]},
            f"answered an unknown state 'busy' for {ALPHA.hex()}",
        ),
    ],
)
def test_serve_answers_of_the_wrong_shape(
    serve_api: IdentitiesServer, doc: Any, message: str
) -> None:
    serve_api.doc = doc
    with pytest.raises(Unreachable) as info:
        read_serve_identities(url_of(serve_api), 2)
    assert info.value.message.startswith(f"{url_of(serve_api)}/identities: {message}")


def test_unreachable_and_wrong_apis_name_the_address(
    serve_api: IdentitiesServer, post_rs: OperatorServer, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(Unreachable) as info:
        read_post_rs_status(url, 2)
    assert info.value.message == f"{url}/status: no answer (Connection refused)"
    serve_api.code = 500
    with pytest.raises(Unreachable) as info:
        read_serve_identities(url_of(serve_api), 2)
    assert (
        info.value.message
        == f"{url_of(serve_api)}/identities: answered HTTP 500 Internal Server Error"
    )
    # A post-rs service given as a mergetool serve URL: its /identities is a 404.
    with pytest.raises(Unreachable) as info:
        read_serve_identities(url_of(post_rs), 2)
    assert info.value.message == f"{url_of(post_rs)}/identities: answered HTTP 404 Not Found"


def test_a_silent_service_is_bounded_by_the_timeout() -> None:
    import socket
    import time

    with socket.socket() as listener:  # accepts (the kernel's backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(Unreachable) as info:
            read_post_rs_status(url, 0.3)
        assert time.monotonic() - start < 2
    assert info.value.message == f"{url}/status: no answer within 0.3 s"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("alpha=http://[::1:5", " (Invalid IPv6 URL)"),
        ("http://127.0.0.1:abc", " (Port could not be cast to integer value as 'abc')"),
        ("http://127.0.0.1:99999", " (Port out of range 0-65535)"),
        ("http://127.0.0.1:1\n/x", " (it holds a space or a control)"),
        ("http://user:pw@127.0.0.1:1", ", without user, ?query or #fragment"),
        ("http://h:1/?a=b", ", without user, ?query or #fragment"),
    ],
)
def test_operator_urls_that_are_no_host_and_port(text: str, reason: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        parse_operator(text)
    assert str(info.value) == (
        f"--operator {text!r}: expected an http(s) URL like http://127.0.0.1:50051{reason}"
    )


def _raw_server(answer: Callable[[socket.socket], None]) -> tuple[str, Callable[[], None]]:
    """A loopback TCP server that reads a request and lets ``answer`` reply, in a thread."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                with contextlib.suppress(OSError):
                    answer(conn)

    threading.Thread(target=run, daemon=True).start()

    def close() -> None:
        stop.set()
        listener.close()

    return f"http://127.0.0.1:{listener.getsockname()[1]}", close


def test_an_answer_that_is_not_http_is_named() -> None:
    url, close = _raw_server(lambda conn: conn.sendall(b"HELLO garbage\r\n\r\n"))
    try:
        with pytest.raises(Unreachable) as info:
            read_post_rs_status(url, 2)
    finally:
        close()
    assert info.value.message == (
        f"{url}/status: answered something that is not HTTP (BadStatusLine)"
    )


def test_a_service_trickling_its_answer_is_bounded_by_the_timeout() -> None:
    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):  # each byte well within the timeout, the whole far beyond it
            conn.sendall(b" ")
            time.sleep(0.05)

    url, close = _raw_server(trickle)
    start = time.monotonic()
    try:
        with pytest.raises(Unreachable) as info:
            read_post_rs_status(url, 0.3)
    finally:
        close()
    assert time.monotonic() - start < 2
    assert info.value.message == f"{url}/status: no answer within 0.3 s"
