"""``watch --follow``: the long-running watcher.

One owner, :meth:`Follower.run`, holds everything it starts: the events-stream thread
(re-subscribing with back-off when the node restarts or cuts it), the alert notifier's
worker and the metrics server; one ``stop`` event ends them all within a bounded time. The
main loop re-reads the node's lists every ``refresh_s`` and evaluates the alert rules
whenever something new was recorded.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mergetool._exceptions import DatabaseError, MergetoolError
from mergetool.watch.alerts import Alert, AlertRules
from mergetool.watch.clock import PoetTiming
from mergetool.watch.facts import NodeFacts
from mergetool.watch.history import History, Record
from mergetool.watch.log import LogLine, OnLog, iso_ms
from mergetool.watch.metrics import WatchMetrics
from mergetool.watch.notify import Channel, Notifier
from mergetool.watch.recording import describe, record_of_event
from mergetool.watch.refresh import EventState, Refresh, read_node, with_report

#: node events kept in memory for the verdicts (the history file keeps every one)
KEEP_EVENTS = 5000


@dataclass(frozen=True)
class FollowSettings:
    """Timing of the follower (tests make it short)."""

    refresh_s: float = 300.0
    not_synced_after_s: float = 30 * 60.0
    reconnect_first_s: float = 1.0
    reconnect_max_s: float = 60.0
    stop_timeout_s: float = 10.0


class Follower:
    """Follows the node through ``client`` (a ``NodeClient``) into ``history``."""

    def __init__(
        self,
        client: Any,
        history: History,
        *,
        on_log: OnLog,
        channels: Sequence[Channel] = (),
        notifier_options: Mapping[str, float] | None = None,
        metrics: WatchMetrics | None = None,
        metrics_address: str | None = None,
        settings: FollowSettings | None = None,
        names: Mapping[str, str] | None = None,
        poet: PoetTiming | None = None,
        services: Callable[[], Mapping[str, bool]] | None = None,
        report: Callable[[Sequence[Any] | None], Any] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.history = history
        self.on_log = on_log
        self.settings = settings or FollowSettings()
        self.notifier = Notifier(channels, log=self._notifier_log, **(notifier_options or {}))
        self.metrics = metrics or (WatchMetrics() if metrics_address else None)
        self.metrics_address = metrics_address
        self.given_names = dict(names or {})
        self.poet = poet
        self.services = services
        #: the one-shot ``read_watch`` (bound to the same flags) given the events kept (None:
        #: none yet, it reads the node's replay): its verdicts, per refresh
        self.report = report
        #: the newest ``report(...)`` (None before the first): swapped whole, read by the page
        self.latest_report: Any = None
        #: the node's events seen on the stream (the replay included), oldest first, deduped
        self._seen: deque[Any] = deque()
        self._seen_keys: set[str] = set()
        self.now = now
        active = {c: Alert.from_dict(a) for c, a in history.active_alerts().items()}
        self.rules = AlertRules(not_synced_after_s=self.settings.not_synced_after_s, active=active)
        self._lock = threading.Lock()
        self._names: dict[str, str] = dict(self.given_names)
        self._events: dict[str, EventState] = {}
        self._last: Refresh | None = None
        self._read_error: str | None = None
        self._report_errors: tuple[str, ...] = ()
        self._wake = threading.Event()
        self.stream_subscriptions = 0
        self.metrics_server: Any = None
        #: what ended the stream thread for good (the history file failed), raised by run()
        self._failure: DatabaseError | None = None

    # --- the owner ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Follow until ``stop`` is set; every part ends within ``stop_timeout_s`` after."""
        if self.metrics is not None and self.metrics_address:
            self.metrics_server = self.metrics.serve(self.metrics_address)
            host, port = self.metrics_server.address
            self._log("metrics", f"metrics on http://{host}:{port}/metrics")
        self.notifier.start()
        stream = threading.Thread(
            target=self._follow_stream, args=(stop,), name="events", daemon=True
        )
        started = False
        try:
            next_read = 0.0
            while not stop.is_set():
                if time.monotonic() >= next_read:
                    self._refresh()
                    next_read = time.monotonic() + self.settings.refresh_s
                    if not started:  # names known (when the node answers) before events
                        stream.start()
                        started = True
                self._evaluate()
                self._wake.wait(max(0.0, min(1.0, next_read - time.monotonic())))
                self._wake.clear()
        finally:
            stop.set()
            deadline = time.monotonic() + self.settings.stop_timeout_s
            while True:  # closing cuts the stream's pending read (again, if it re-opened)
                self.client.close()
                if not started or time.monotonic() >= deadline:
                    break
                stream.join(0.2)
                if not stream.is_alive():
                    break
            self.notifier.stop(self.settings.stop_timeout_s)
            if self.metrics_server is not None:
                self.metrics_server.stop()
            self._log("stopped", "stopped")
        if self._failure is not None:
            raise self._failure

    # --- the events stream ---------------------------------------------------------------------

    def _follow_stream(self, stop: threading.Event) -> None:
        delay = self.settings.reconnect_first_s
        while not stop.is_set():
            got = 0
            self.stream_subscriptions += 1
            self._stream_gauge(1)
            try:
                for event in self.client.events():
                    got += 1
                    self._on_event(event)
                    if stop.is_set():
                        break
                reason = "the node ended the events stream"
            except DatabaseError as exc:  # our own history failed: the whole watcher stops
                self._failure = exc
                stop.set()
                return
            except MergetoolError as exc:
                reason = exc.message
            except Exception as exc:  # noqa: BLE001 - one bad event must not end the watcher
                reason = f"{type(exc).__name__}: {exc}"
            self._stream_gauge(0)
            if stop.is_set():
                return
            if got:
                delay = self.settings.reconnect_first_s
            self._log(
                "stream-lost",
                f"events stream lost ({reason}); re-subscribing in {delay:g} s",
                "warning",
            )
            stop.wait(delay)
            delay = min(delay * 2, self.settings.reconnect_max_s)

    def _on_event(self, event: Any) -> None:
        with self._lock:
            if event.key not in self._seen_keys:
                self._seen.append(event)
                self._seen_keys.add(event.key)
                if len(self._seen) > KEEP_EVENTS:
                    self._seen_keys.discard(self._seen.popleft().key)
        record = record_of_event(event, now=self.now)
        if record is None:
            return
        if not self.history.record([record]):
            return  # the node's replay of what we have
        self._note(record)
        if self.metrics is not None:
            self.metrics.events.labels(record.kind).inc()
        self._wake.set()

    def _note(self, record: Record) -> None:
        """Log a new record; keep what only events tell (failures, bans) per identity."""
        who = record.identity
        if who:
            with self._lock:
                self._events[who] = self._events.get(who, EventState()).after(record)
        level = "error" if record.failure or record.kind == "malfeasance" else "info"
        self._log(record.kind, describe(record), level, identity=who or None, at=iso_ms(record.at))

    # --- the lists -----------------------------------------------------------------------------

    def _refresh(self) -> None:
        try:
            with self._lock:
                events = dict(self._events)
            got = read_node(
                self.client, names=self.given_names, poet=self.poet, events=events,
                services=self.services, now=self.now,
            )  # fmt: skip
            if self.report is not None:
                with self._lock:
                    kept = tuple(self._seen) if self._seen else None
                report = self.report(kept)
                self.latest_report = report
                got = replace(got, facts=with_report(got.facts, report))
                self._tell_report_errors(tuple(report.errors))
        except MergetoolError as exc:
            if exc.message != self._read_error:  # once per distinct failure, not every time
                self._log("read-failed", f"cannot read the node: {exc.message}", "warning")
            self._read_error = exc.message
            return
        if self._read_error is not None:
            self._log("read-ok", "reading the node again")
        self._read_error = None
        with self._lock:
            self._names.update(got.names)
        self.history.name_identities(got.names)
        self._load_event_state(got)
        for record in self.history.record(got.records):
            self._note(record)
        self._last = got

    def _load_event_state(self, got: Refresh) -> None:
        """After a restart of the watcher: failures and bans from its own history."""
        for ident in got.facts.identities:
            with self._lock:
                if ident.node_id in self._events:
                    continue
            state = EventState()
            for r in self.history.records(ident.node_id):
                state = state.after(r)
            with self._lock:
                self._events.setdefault(ident.node_id, state)

    def _tell_report_errors(self, errors: tuple[str, ...]) -> None:
        """What did not answer the one-shot read (an --operator, a listener): each once."""
        for error in errors:
            if error not in self._report_errors:
                self._log("read-failed", error, "warning")
        for gone in set(self._report_errors) - set(errors):
            self._log("read-ok", f"answers again: {gone}")
        self._report_errors = errors

    # --- alerts and metrics ------------------------------------------------------------------

    def facts(self) -> NodeFacts | None:
        """The last read, with what events told since and the time now."""
        if self._last is None:
            return None
        with self._lock:
            events = dict(self._events)
        facts = self._last.facts
        idents = []
        for i in facts.identities:
            seen = events.get(i.node_id, EventState())
            slots = i.eligible_slots
            if seen.slots_epoch == facts.current_epoch:
                slots = max(slots, seen.slots)
            banned = i.banned or seen.banned
            idents.append(
                replace(i, post_failure=seen.post_failure, banned=banned, eligible_slots=slots)
            )
        synced = facts.synced if self._read_error is None else None
        return replace(facts, at=self.now(), synced=synced, identities=tuple(idents))

    def _evaluate(self) -> None:
        facts = self.facts()
        if facts is None:
            return
        if self.metrics is not None:
            self.metrics.update(facts)
        changed = self.rules.evaluate(facts)
        for alert in changed:
            level = "info" if alert.state == "resolved" else "error"
            self._log(
                "alert", alert.text, level, identity=alert.identity,
                cause=alert.cause, alert_state=alert.state,
            )  # fmt: skip
            self.notifier.submit(alert)
        if changed:
            self.history.save_alerts({c: a.to_dict() for c, a in self.rules.active.items()})
            if self.metrics is not None:
                self.metrics.set_alerts([a.kind for a in self.rules.active.values()])

    # --- telling -----------------------------------------------------------------------------

    def _stream_gauge(self, value: int) -> None:
        if self.metrics is not None:
            self.metrics.stream.set(value)

    def _log(
        self, kind: str, message: str, level: str = "info", *, identity: str | None = None,
        **fields: Any,
    ) -> None:  # fmt: skip
        name = None
        if identity is not None:
            with self._lock:
                name = self._names.get(identity, identity[:12])
        line = LogLine(self.now(), kind, message, level, identity, name, fields)  # type: ignore[arg-type]
        with contextlib.suppress(Exception):  # a broken log sink must not end the watcher
            self.on_log(line)

    def _notifier_log(self, level: str, message: str, fields: dict[str, Any]) -> None:
        self._log("alert-delivery", message, level, **fields)
