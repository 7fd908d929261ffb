"""k2pow through a remote k2pow-service (post-rs's, or ``mergetool k2pow-service``) over HTTP.

As post-rs's client does, a service that is down, slow or answers 5xx is asked again after
``backoff_s`` until the job is done or the caller cancels; every request has a total
deadline (``timeout_s``), so a server trickling its answer cannot hold a pass. With
``fail_after_s`` the client gives up once the service has failed that long in a row
(RemoteK2powUnavailable), e.g. to solve locally instead.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from mergetool._exceptions import InvalidParameters, K2powCancelled, RemoteK2powFailed
from mergetool._http import http_get
from mergetool.k2pow.job import Job, make_job
from mergetool.post.params import U64_MAX

#: Longest piece of a server's answer quoted in an error (a whole HTML error page helps nobody).
_BODY_QUOTE = 300
#: How often a waiting request looks at ``cancelled()``.
_POLL_S = 0.05
_MAX_ANSWER = 64 * 1024

#: ``on_problem(node_id, text)``: the remote is failing (text), or works again (None).
ProblemCallback = Callable[[bytes, str | None], None]


class RemoteK2powUnavailable(RemoteK2powFailed):
    """A k2pow-service kept failing (no answer, 5xx) for ``failing_s`` seconds in a row."""

    def __init__(self, failed: RemoteK2powFailed, failing_s: float) -> None:
        super().__init__(
            failed.url, f"{failed.reason}; failing for {failing_s:.0f} s",
            status=failed.status, body=failed.body, hint=failed.hint,
        )  # fmt: skip
        self.failing_s = failing_s


class _Health:
    """Since when the service has failed without a single good answer (shared by a call's
    requests): one good answer from any of them resets it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failing_since: float | None = None
        self.last: RemoteK2powFailed | None = None

    def failed(self, exc: RemoteK2powFailed) -> float:
        with self.lock:
            now = time.monotonic()
            if self.failing_since is None:
                self.failing_since = now
            self.last = exc
            return now - self.failing_since

    def answered(self) -> bool:
        """Record a good answer; True when that ends a failing spell."""
        with self.lock:
            was, self.failing_since, self.last = self.failing_since is not None, None, None
            return was


class RemoteK2pow:
    """Solves nonce groups on a k2pow-service at ``base_url``, ``parallelism`` jobs at a time.

    ``retry_interval_s``: the wait before asking again about a running job (201) or busy
    workers (429); ``backoff_s``: the wait after a failure (no answer, timeout, 5xx);
    ``timeout_s``: the total deadline of one request; ``fail_after_s``: give up after failing
    that long in a row (None: never, as post-rs); ``on_problem`` hears of failing spells.
    """

    def __init__(
        self,
        base_url: str,
        *,
        parallelism: int = 5,
        retry_interval_s: float = 1.0,
        backoff_s: float = 5.0,
        timeout_s: float = 10.0,
        fail_after_s: float | None = None,
        on_problem: ProblemCallback | None = None,
    ) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InvalidParameters(
                f"remote k2pow URL must look like http://HOST:PORT, got {base_url!r}"
            )
        try:
            url.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise InvalidParameters(f"remote k2pow URL {base_url!r}: bad port") from None
        if parallelism < 1:
            raise InvalidParameters(f"remote k2pow parallelism must be >= 1, got {parallelism}")
        if retry_interval_s < 0 or backoff_s < 0 or timeout_s <= 0:
            raise InvalidParameters(
                "remote k2pow retry interval, back-off and timeout must be positive"
            )
        if fail_after_s is not None and fail_after_s < 0:
            raise InvalidParameters(f"remote k2pow fail-after must be >= 0, got {fail_after_s}")
        self.base_url = base_url.rstrip("/")
        self.parallelism = parallelism
        self.retry_interval_s = retry_interval_s
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.fail_after_s = fail_after_s
        self._on_problem = on_problem or (lambda node_id, text: None)

    def solve_groups(
        self,
        node_id: bytes,
        groups: list[int],
        challenge: bytes,
        target: bytes,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        on_group: Callable[[int, int], None] | None = None,
    ) -> dict[int, int]:
        """``{group: pow}`` for every group, each pow checked against ``target`` here.

        ``on_group(group, pow)`` is called in the caller's thread as each group is solved.
        Raises RemoteK2powFailed on an answer that cannot be right (a wrong pow, 4xx),
        RemoteK2powUnavailable past ``fail_after_s``, K2powCancelled once ``cancelled()``.
        """
        jobs = [make_job(node_id, g, challenge, target) for g in dict.fromkeys(groups)]
        solved: dict[int, int] = {}
        stop = threading.Event()
        health = _Health()

        def give_up() -> bool:
            return stop.is_set() or cancelled()

        with ThreadPoolExecutor(self.parallelism, thread_name_prefix="remote-k2pow") as pool:
            pending: set[Future[int | None]] = set()
            group_of: dict[Future[int | None], Job] = {}
            for job in jobs:
                future = pool.submit(self._solve, job, give_up, health)
                pending.add(future)
                group_of[future] = job
            try:
                while pending:
                    done, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = group_of[future]
                        value = future.result()  # raises the first failure
                        if value is None:  # gave up: cancelled
                            continue
                        self._check(job, value)
                        solved[job.group] = value
                        if on_group is not None:
                            on_group(job.group, value)
                    if cancelled():
                        raise K2powCancelled(dict(solved), len(jobs))
            finally:
                stop.set()  # the other requests end at their next poll
        return solved

    def _solve(self, job: Job, give_up: Callable[[], bool], health: _Health) -> int | None:
        """The server's pow for ``job`` (unchecked), or None once ``give_up()``."""
        while not give_up():
            try:
                status, body = self._get(job.path, give_up)
            except RemoteK2powFailed as exc:  # no answer: down, slow or cut off
                if give_up():
                    return None
                pause = self._failing(job, exc, health)
            else:
                if status == 200:
                    text = body.strip()
                    if not text.isdigit() or not text.isascii() or int(text) > U64_MAX:
                        raise self._failed(job.path, f"answered 200 with {_quote(body)}, not a pow")
                    self._recovered(job, health)
                    return int(text)
                if status in (201, 429):  # running, or every worker busy
                    self._recovered(job, health)
                    pause = self.retry_interval_s
                elif status >= 500:
                    failed = self._failed(
                        job.path, f"failed: HTTP {status}: {_quote(body)}", status=status, body=body
                    )
                    pause = self._failing(job, failed, health)
                else:  # 404 & co: asking again will not help
                    raise self._failed(
                        job.path, f"answered unexpectedly: HTTP {status}: {_quote(body)}",
                        status=status, body=body,
                    )  # fmt: skip
            deadline = time.monotonic() + pause
            while time.monotonic() < deadline and not give_up():
                time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))
        return None

    def _failing(self, job: Job, exc: RemoteK2powFailed, health: _Health) -> float:
        """A failed request: the back-off before the next, or RemoteK2powUnavailable."""
        failing = health.failed(exc)
        if self.fail_after_s is not None and failing >= self.fail_after_s:
            raise RemoteK2powUnavailable(exc, failing)
        self._on_problem(job.miner, f"{exc.message}; asking again every {self.backoff_s:g} s")
        return self.backoff_s

    def _recovered(self, job: Job, health: _Health) -> None:
        if health.answered():
            self._on_problem(job.miner, None)

    def _get(self, path: str, give_up: Callable[[], bool]) -> tuple[int, str]:
        """One GET within ``timeout_s`` in all (a trickled answer is cut off too)."""
        url = self.base_url + path
        try:
            status, _, body = http_get(
                url, timeout_s=self.timeout_s, max_bytes=_MAX_ANSWER, cancelled=give_up
            )
            return status, body[:_MAX_ANSWER].decode("utf-8", "replace")
        except TimeoutError:
            raise self._failed(
                path,
                f"no answer within {self.timeout_s:g} s",
                hint="The k2pow-service is overloaded or unreachable; check it and the network.",
            ) from None
        except ConnectionRefusedError:
            raise self._failed(
                path,
                "connection refused",
                hint="Is the k2pow-service running there, listening on that address and port?",
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._failed(path, f"request failed: {exc or type(exc).__name__}") from exc

    def _check(self, job: Job, value: int) -> None:
        """Raise unless ``value`` solves ``job``: a wrong pow would make the proof worthless."""
        from mergetool.post.pow import pow_is_valid

        if not pow_is_valid(value, job.group, job.challenge8, job.miner, job.target):
            raise self._failed(
                job.path,
                f"pow {value} for nonce group {job.group} does not meet the target",
                hint="That k2pow-service is faulty or serves another network's difficulty; "
                "use another one or local k2pow.",
            )

    def _failed(self, path: str, reason: str, **kwargs: object) -> RemoteK2powFailed:
        return RemoteK2powFailed(self.base_url + path, reason, **kwargs)  # type: ignore[arg-type]


def _quote(body: str) -> str:
    text = body.strip()
    if len(text) > _BODY_QUOTE:
        text = text[:_BODY_QUOTE] + "…"
    return repr(text)
