"""Alert delivery: ``--alert-command`` and ``--webhook`` channels, driven by one worker
thread with a bounded queue, so a slow or dead channel never holds the watcher up.

A channel that fails is retried with back-off until a deadline, then given up and logged;
nothing here raises into the caller once started.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mergetool._exceptions import InvalidParameters, MergetoolError
from mergetool._http import http_request
from mergetool.watch.alerts import Alert

#: ``log(level, message, fields)``: how the notifier tells what it did
Log = Callable[[str, str, dict[str, Any]], None]


class DeliveryFailed(MergetoolError):
    """One attempt failed; ``permanent``: retrying cannot help (a 4xx, a missing program)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def deliver(self, alert: Alert, timeout_s: float) -> None:
        """Deliver once within ``timeout_s`` or raise DeliveryFailed."""


class AlertCommand:
    """Runs ``command`` (split like a shell would, run without one) with the alert as JSON
    on stdin and ``MERGETOOL_ALERT_*`` in its environment; exit 0 is success."""

    def __init__(self, command: str) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise InvalidParameters(
                f"alert command {command!r}: {exc}", parameter="alert_command"
            ) from exc
        if not self.argv:
            raise InvalidParameters("the alert command is empty", parameter="alert_command")
        self.name = f"alert command {self.argv[0]}"

    def deliver(self, alert: Alert, timeout_s: float) -> None:
        body = json.dumps(alert.to_dict()).encode()
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={**os.environ, **alert.environ()},
                start_new_session=True,  # its own group: a timeout kills its children too
            )
        except OSError as exc:
            raise DeliveryFailed(f"cannot run it: {exc.strerror or exc}", permanent=True) from exc
        try:
            _, err = proc.communicate(body, timeout=max(timeout_s, 0.1))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise DeliveryFailed(f"still running after {timeout_s:.0f} s: killed") from None
        if proc.returncode != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise DeliveryFailed(f"exit status {proc.returncode} {tail[0]}".strip())


class Webhook:
    """POSTs the alert's JSON to ``url`` (Slack reads ``text``, Discord ``content``)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidParameters(
                f"webhook {url!r} is not an http:// or https:// URL", parameter="webhook"
            )
        self.url = url
        self.name = f"webhook {parts.scheme}://{parts.netloc}"  # the path may hold a secret

    def deliver(self, alert: Alert, timeout_s: float) -> None:
        body = json.dumps(alert.to_dict()).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "mergetool-watch"}
        try:
            status, reason, _ = http_request(
                "POST", self.url, body=body, headers=headers, timeout_s=timeout_s, max_bytes=4096
            )
        except TimeoutError:
            raise DeliveryFailed(f"no answer within {timeout_s:.0f} s") from None
        except (OSError, ValueError) as exc:
            raise DeliveryFailed(str(exc) or type(exc).__name__) from exc
        except http.client.HTTPException as exc:
            raise DeliveryFailed(f"not an HTTP answer ({type(exc).__name__})") from exc
        if 200 <= status < 300:
            return
        permanent = 400 <= status < 500 and status not in (408, 425, 429)
        raise DeliveryFailed(f"HTTP {status} {reason}", permanent=permanent)


class Notifier:
    """Delivers submitted alerts to every channel from one worker thread.

    Each delivery is retried with back-off (``first_retry_s`` doubling up to
    ``max_retry_s``) until ``give_up_after_s`` after it began; each attempt is bounded by
    ``attempt_timeout_s``. The queue holds ``queue_size`` alerts; more are dropped and logged.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        log: Log,
        queue_size: int = 100,
        attempt_timeout_s: float = 10.0,
        give_up_after_s: float = 120.0,
        first_retry_s: float = 1.0,
        max_retry_s: float = 30.0,
    ) -> None:
        self.channels = list(channels)
        self._log = log
        self._queue: queue.Queue[Alert | None] = queue.Queue(queue_size)
        self.attempt_timeout_s = attempt_timeout_s
        self.give_up_after_s = give_up_after_s
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self._stop_at: float | None = None  # monotonic; set by stop()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name="alert-notifier", daemon=True)
        #: the last outcomes: (channel name, cause, state, "delivered" | "given up" | "dropped")
        self.outcomes: deque[tuple[str, str, str, str]] = deque(maxlen=100)

    def start(self) -> Notifier:
        if self.channels:
            self._thread.start()
        return self

    def submit(self, alert: Alert) -> bool:
        """Queue ``alert`` without waiting; False when there are no channels or it is full."""
        if not self.channels or self._stopping.is_set():
            return False
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self._log("error", f"alert queue full: dropped {alert.text}", {"cause": alert.cause})
            self.outcomes.append(("*", alert.cause, alert.state, "dropped"))
            return False
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued within ``timeout_s`` (no retries past it), then end."""
        if not self._thread.is_alive():
            return
        self._stop_at = time.monotonic() + timeout_s
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout_s + self.attempt_timeout_s)

    def _work(self) -> None:
        while True:
            try:
                alert = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            if alert is None:
                if self._queue.empty():
                    return
                continue
            for channel in self.channels:
                self._deliver(channel, alert)

    def _deliver(self, channel: Channel, alert: Alert) -> None:
        give_up = time.monotonic() + self.give_up_after_s
        delay = self.first_retry_s
        attempt = 0
        while True:
            attempt += 1
            end = give_up if self._stop_at is None else min(give_up, self._stop_at)
            timeout = max(0.1, min(self.attempt_timeout_s, end - time.monotonic()))
            try:
                channel.deliver(alert, timeout)
            except DeliveryFailed as exc:
                left = end - time.monotonic()
                fields = {"channel": channel.name, "cause": alert.cause, "attempt": attempt}
                if exc.permanent or left <= delay or self._stopping.is_set():
                    self._log(
                        "error",
                        f"{channel.name}: gave up on alert {alert.cause} ({alert.state}) after "
                        f"{attempt} attempt(s): {exc}",
                        fields,
                    )
                    self.outcomes.append((channel.name, alert.cause, alert.state, "given up"))
                    return
                self._log("warning", f"{channel.name}: {exc}; retrying in {delay:.0f} s", fields)
                self._stopping.wait(delay)  # a stop cuts the wait short: one last attempt
                delay = min(delay * 2, self.max_retry_s)
                continue
            self._log(
                "info",
                f"{channel.name}: delivered alert {alert.cause} ({alert.state})",
                {"channel": channel.name, "cause": alert.cause},
            )
            self.outcomes.append((channel.name, alert.cause, alert.state, "delivered"))
            return
