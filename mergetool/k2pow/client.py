"""k2pow through a remote k2pow-service (post-rs's, or ``mergetool k2pow-service``) over HTTP."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from mergetool._exceptions import InvalidParameters, K2powCancelled, RemoteK2powFailed
from mergetool.k2pow.job import Job, make_job
from mergetool.post.params import U64_MAX

#: Longest piece of a server's answer quoted in an error (a whole HTML error page helps nobody).
_BODY_QUOTE = 300
#: How often a waiting request looks at ``cancelled()``.
_POLL_S = 0.05


class RemoteK2pow:
    """Solves nonce groups on a k2pow-service at ``base_url``, ``parallelism`` jobs at a time."""

    def __init__(
        self,
        base_url: str,
        *,
        parallelism: int = 5,
        retry_interval_s: float = 1.0,
        timeout_s: float = 10.0,
    ) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InvalidParameters(
                f"remote k2pow URL must look like http://HOST:PORT, got {base_url!r}"
            )
        try:
            self._port = url.port
        except ValueError:
            raise InvalidParameters(f"remote k2pow URL {base_url!r}: bad port") from None
        if parallelism < 1:
            raise InvalidParameters(f"remote k2pow parallelism must be >= 1, got {parallelism}")
        if retry_interval_s < 0 or timeout_s <= 0:
            raise InvalidParameters("remote k2pow retry interval and timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._prefix = url.path.rstrip("/")
        self.parallelism = parallelism
        self.retry_interval_s = retry_interval_s
        self.timeout_s = timeout_s

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
        Raises RemoteK2powFailed on the first failure and K2powCancelled once ``cancelled()``.
        """
        jobs = [make_job(node_id, g, challenge, target) for g in dict.fromkeys(groups)]
        solved: dict[int, int] = {}
        stop = threading.Event()

        def give_up() -> bool:
            return stop.is_set() or cancelled()

        with ThreadPoolExecutor(self.parallelism, thread_name_prefix="remote-k2pow") as pool:
            pending: set[Future[int | None]] = set()
            group_of: dict[Future[int | None], Job] = {}
            for job in jobs:
                future = pool.submit(self._solve, job, give_up)
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

    def _solve(self, job: Job, give_up: Callable[[], bool]) -> int | None:
        """The server's pow for ``job`` (unchecked), or None once ``give_up()``."""
        while not give_up():
            status, body = self._get(job.path)
            if status == 200:
                text = body.strip()
                if not text.isdigit() or not text.isascii() or int(text) > U64_MAX:
                    raise self._failed(job.path, f"answered 200 with {_quote(body)}, not a pow")
                return int(text)
            if status not in (201, 429):
                what = "failed" if status == 500 else "answered unexpectedly"
                raise self._failed(
                    job.path, f"{what}: HTTP {status}: {_quote(body)}", status=status, body=body
                )
            deadline = time.monotonic() + self.retry_interval_s
            while time.monotonic() < deadline and not give_up():
                time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))
        return None

    def _get(self, path: str) -> tuple[int, str]:
        conn_class = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = conn_class(self._host, self._port, timeout=self.timeout_s)
        try:
            conn.request("GET", self._prefix + path)
            response = conn.getresponse()
            return response.status, response.read(64 * 1024).decode("utf-8", "replace")
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
        finally:
            conn.close()

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
