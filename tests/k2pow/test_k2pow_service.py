"""Our k2pow-service: the answers post-rs's API defines, the worker limit, events, stopping."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from mergetool._exceptions import InvalidParameters, PostError
from mergetool.k2pow.client import RemoteK2pow
from mergetool.k2pow.job import make_job
from mergetool.k2pow.service import HARDEST_TARGET, K2powEvent, K2powService
from mergetool.post.pow import find_pow

NODE_ID = b"\x11" * 32
CHALLENGE = b"\x22" * 32
ONE_IN_8 = b"\x20" + b"\xff" * 31
NEVER = HARDEST_TARGET  # one hash in ~2^52 is below it: a job that runs until the service stops


def _path(group: int, target: bytes) -> str:
    return make_job(NODE_ID, group, CHALLENGE, target).path


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_done(service: K2powService, path: str) -> tuple[int, str]:
    deadline = time.monotonic() + 30
    while (answer := service.answer(path))[0] == 201 and time.monotonic() < deadline:
        time.sleep(0.02)
    return answer


def test_health_and_a_job_over_http(service: K2powService) -> None:
    port = service.address[1]
    assert _get(port, "/") == (200, "ok")
    path = _path(4, ONE_IN_8)
    assert _get(port, path) == (201, "job created")
    status, body = _wait_done(service, path)
    assert (status, int(body)) == (200, find_pow(4, CHALLENGE, NODE_ID, ONE_IN_8))
    assert _get(port, path) == (200, body)  # kept for later asks


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/job/zz/1/0000000000000000/" + "ff" * 32, "miner must be 64 hex digits, got 'zz'"),
        (f"/job/{'11' * 32}/x/0000000000000000/{'ff' * 32}", "nonce group must be a decimal"),
        (f"/job/{'11' * 32}/256/0000000000000000/{'ff' * 32}", "nonce group 256 is outside"),
        (f"/job/{'11' * 32}/1/00/{'ff' * 32}", "challenge must be 16 hex digits, got '00'"),
        (f"/job/{'11' * 32}/1/0000000000000000/ff", "difficulty must be 64 hex digits"),
        (
            f"/job/{'11' * 32}/{'9' * 5000}/0000000000000000/{'ff' * 32}",
            f"nonce group {'9' * 80}… (5000 digits) is outside 0 .. 255",
        ),
        (
            f"/job/{'11' * 32}/1/0000000000000000/{'00' * 32}",
            f"difficulty {'00' * 32} is harder than any network asks (the hardest, mainnet's for "
            f"4294967295 units, is {HARDEST_TARGET.hex()}): the job would never finish",
        ),
    ],
)
def test_a_bad_request_is_a_500_with_the_reason(
    service: K2powService, path: str, message: str
) -> None:
    status, body = _get(service.address[1], path)
    assert status == 500
    assert body.startswith(message)


@pytest.mark.parametrize(
    "path", ["/nope", "/job", f"/job/{'11' * 32}/1/0000000000000000", "/job/a/b/c/d/e"]
)
def test_an_unknown_path_is_a_404(service: K2powService, path: str) -> None:
    assert _get(service.address[1], path) == (
        404,
        "not found: the API has GET / and GET /job/<miner>/<nonce_group>/<challenge8>/<difficulty>",
    )


def test_the_hardest_target_cannot_hold_a_worker_for_ever() -> None:
    events: list[K2powEvent] = []
    with K2powService("127.0.0.1:0", cores=1, job_deadline_s=0.3, on_event=events.append) as svc:
        endless = _path(0, NEVER)
        assert svc.answer(endless) == (201, "job created")
        status, body = _wait_done(svc, endless)
        assert status == 500
        assert body == (
            f"no pow for nonce group 0 below difficulty {NEVER.hex()} within the job deadline "
            "of 0.3 s: the worker was freed; ask again to start afresh, or check the difficulty "
            "the service was given"
        )
        assert svc.answer(_path(1, ONE_IN_8)) == (201, "job created")  # the worker is free
    assert [e.kind for e in events][:2] == ["created", "failed"]


def test_busy_workers_answer_429_and_stop_cancels_running_jobs() -> None:
    events: list[K2powEvent] = []
    service = K2powService("127.0.0.1:0", cores=1, on_event=events.append).start()
    try:
        endless = _path(0, NEVER)
        assert service.answer(endless) == (201, "job created")
        assert service.answer(endless) == (201, "job is running")
        assert service.answer(_path(1, ONE_IN_8)) == (429, "all workers are busy")
        started = time.monotonic()
    finally:
        cancelled = service.stop()
    assert time.monotonic() - started < 2
    assert cancelled == [make_job(NODE_ID, 0, CHALLENGE, NEVER)]
    assert [(e.kind, e.job.group) for e in events] == [("created", 0)]


def test_events_name_the_job_and_its_pow() -> None:
    events: list[K2powEvent] = []
    with K2powService("127.0.0.1:0", cores=2, on_event=events.append) as mine:
        path = _path(2, ONE_IN_8)
        mine.answer(path)
        _, body = _wait_done(mine, path)
    assert [e.kind for e in events] == ["created", "done"]
    assert events[1].job == make_job(NODE_ID, 2, CHALLENGE, ONE_IN_8)
    assert events[1].pow == int(body)


def test_bad_settings_and_a_taken_port() -> None:
    with pytest.raises(InvalidParameters, match="cores must be within 1 .. 256, got 0"):
        K2powService("127.0.0.1:0", cores=0)
    with pytest.raises(InvalidParameters, match="bind address must be HOST:PORT, got '3000'"):
        K2powService("3000")
    with K2powService("127.0.0.1:0") as first:
        taken = f"127.0.0.1:{first.address[1]}"
        with pytest.raises(PostError, match=f"cannot listen on {taken}: Address already in use"):
            K2powService(taken)


def test_the_package_api_is_pinned() -> None:
    import mergetool.k2pow

    assert mergetool.k2pow.__all__ == [
        "Job", "K2powCancelled", "K2powEvent", "K2powService", "RemoteK2pow",
        "RemoteK2powFailed", "make_job", "parse_job_path",
    ]  # fmt: skip
    assert mergetool.k2pow.RemoteK2pow is RemoteK2pow
