"""``mergetool watch --follow`` (the long-running watcher) and ``watch --history NAME`` (an
identity's timeline from the watcher's state file); the ``watch`` command delegates here."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mergetool._exceptions import UsageProblem
from mergetool.cli._node_options import Seconds

_OPTIONS = [
    click.option(
        "--follow", is_flag=True,
        help="Keep running: follow the node's events, keep a history, send alerts.",
    ),
    click.option(
        "--history", "history_name", metavar="NAME",
        help="Print the timeline of identity NAME (key name or node id) from --state.",
    ),
    click.option(
        "--state", type=click.Path(path_type=Path, dir_okay=False),
        help="The watcher's history file [$XDG_STATE_HOME/mergetool/watch.sqlite].",
    ),
    click.option(
        "--alert-command", metavar="CMD",
        help="Run CMD for each alert and recovery: the alert as JSON on stdin, "
        "MERGETOOL_ALERT_* in its environment.",
    ),
    click.option(
        "--webhook", "webhooks", multiple=True, metavar="URL",
        help="POST each alert and recovery as JSON (Slack `text`, Discord `content`). "
        "Repeatable.",
    ),
    click.option(
        "--metrics-address", metavar="HOST:PORT",
        help="Serve Prometheus metrics on http://HOST:PORT/metrics.",
    ),
    click.option(
        "--http", "http_address", metavar="HOST:PORT",
        help="Serve the operator page on http://HOST:PORT/ (with --follow).",
    ),
    click.option(
        "--http-token", envvar="MERGETOOL_HTTP_TOKEN", show_envvar=True, metavar="SECRET",
        help="Required with an --http address other than loopback: every request must carry "
        "it (?token=SECRET or Authorization: Bearer SECRET).",
    ),
    click.option(
        "--not-synced-after", type=Seconds(min=1, max=7 * 86400), default=1800.0,
        show_default=True, help="Alert when the node is not synced for this many seconds.",
    ),
    click.option(
        "--refresh-every", type=Seconds(min=0.1, max=86400), default=300.0,
        show_default=True,
        help="Seconds between re-reads of the node's lists (30 with --http).",
    ),
    click.option(
        "--log-format", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help="One log line per event, as text or JSON.",
    ),
]  # fmt: skip
#: --refresh-every's default with --http: the page's rows are as fresh as the last re-read
PAGE_REFRESH_S = 30.0
#: the parameters of these options, as the ``watch`` command receives them
NAMES = ("follow", "history_name", "state", "alert_command", "webhooks", "metrics_address",
         "http_address", "http_token", "not_synced_after", "refresh_every",
         "log_format")  # fmt: skip


def follow_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the ``--follow``/``--history`` options to the ``watch`` command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def delegated(ctx: click.Context, options: dict[str, Any], **watch: Any) -> bool:
    """Run ``--history`` or ``--follow`` when asked (True); False: a one-shot watch.
    ``watch``: the one-shot's flags (private, public, post, operators, config, node_dir, tls,
    timeout_s, as_json)."""
    token_given = ctx.get_parameter_source("http_token") is ParameterSource.COMMANDLINE
    if token_given and options["http_address"] is None:
        raise UsageProblem("--http-token works with --http only")
    if options["history_name"] is not None:
        if options["follow"]:
            raise UsageProblem("--history prints what a --follow recorded: give one of them")
        show_history(options["state"], options["history_name"], watch["as_json"])
        return True
    if not options["follow"]:
        flags = {"alert_command": "--alert-command", "webhooks": "--webhook",
                 "metrics_address": "--metrics-address", "http_address": "--http"}  # fmt: skip
        given = [flag for name, flag in flags.items() if options[name]]
        if given:
            raise UsageProblem(f"{given[0]} works with --follow only")
        return False
    if options["http_address"] is None:
        options = {**options, "http_token": None}  # (MERGETOOL_HTTP_TOKEN for --operator-token)
    refresh_given = ctx.get_parameter_source("refresh_every") is ParameterSource.COMMANDLINE
    if options["http_address"] is not None and not refresh_given:  # a page worth looking at
        options = {**options, "refresh_every": min(options["refresh_every"], PAGE_REFRESH_S)}
    follow(options, **watch)
    return True


def show_history(state: Path | None, name: str, as_json: bool) -> None:
    from mergetool.watch.history import History, default_state_path
    from mergetool.watch.recording import describe

    with History.open(state or default_state_path(), create=False) as history:
        timeline = history.timeline(name)
    if as_json:
        click.echo(json.dumps(timeline.to_dict(), indent=2, sort_keys=True))
        return
    who = timeline.name or timeline.identity[:12]
    click.echo(f"{who} ({timeline.identity})")
    if not timeline.entries:
        click.echo("  nothing recorded yet")
    for entry in timeline.entries:
        moment = datetime.fromtimestamp(entry.record.at).astimezone()
        took = ""
        if entry.duration_s is not None:
            span = _span(entry.duration_s)
            poet = entry.record.kind == "poet_round"
            took = f" ({span} from registration)" if poet else f" (after {span})"
        click.echo(f"  {moment:%Y-%m-%d %H:%M %Z}  {describe(entry.record)}{took}")


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins} min" if hours else f"{mins} min"


def follow(
    options: dict[str, Any], *, private: str | None, public: str | None, post: str | None,
    operators: tuple[str, ...], operator_token: str | None, config: Path | None,
    node_dir: Path | None, tls: Any, timeout_s: float, as_json: bool,
) -> None:  # fmt: skip
    """Build the follower from the flags and run it until SIGTERM or Ctrl-C."""
    from mergetool.serviceapi.read import parse_operator
    from mergetool.watch.client import DEFAULT_PRIVATE, DEFAULT_PUBLIC, NodeClient
    from mergetool.watch.clock import PoetTiming
    from mergetool.watch.config import read_node_config
    from mergetool.watch.follow import Follower, FollowSettings
    from mergetool.watch.history import History, default_state_path
    from mergetool.watch.notify import AlertCommand, Channel, Webhook
    from mergetool.watch.read import read_watch

    for operator in operators:  # a bad one is bad usage now, not a warning every refresh
        parse_operator(operator)
    page = _page_server(options["http_address"], options["http_token"])
    cfg = read_node_config(config) if config is not None else None
    private = private or (cfg.private if cfg else None) or DEFAULT_PRIVATE
    public = public or (cfg.public if cfg else None) or DEFAULT_PUBLIC
    post = post or (cfg.post if cfg else None)
    channels: list[Channel] = [Webhook(url) for url in options["webhooks"]]
    if options["alert_command"] is not None:
        channels.insert(0, AlertCommand(options["alert_command"]))
    client = NodeClient(private=private, public=public, post=post, tls=tls, timeout_s=timeout_s)
    as_text = options["log_format"] == "text" and not as_json

    def report(events: Any) -> Any:
        return read_watch(
            private=private, public=public, post=post, operators=operators,
            operator_token=operator_token, config=config, node_dir=node_dir, tls=tls,
            timeout_s=timeout_s, events=events,
        )  # fmt: skip

    def echo(line: Any) -> None:
        click.echo(line.to_text() if as_text else json.dumps(line.to_dict(), sort_keys=True))

    stop = threading.Event()
    with History.open(options["state"] or default_state_path()) as history:
        follower = Follower(
            client, history, on_log=echo, channels=channels,
            metrics_address=options["metrics_address"],
            settings=FollowSettings(refresh_s=options["refresh_every"],
                                    not_synced_after_s=options["not_synced_after"]),
            poet=cfg.poet if cfg else PoetTiming(), report=report,
        )  # fmt: skip
        previous = {s: signal.signal(s, lambda *_: stop.set()) for s in _STOP_SIGNALS}
        try:
            if page is not None:
                page.start(follower, echo)
            follower.run(stop)
        finally:
            if page is not None:
                page.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)


class _PageServer:
    """``watch --http``: the operator page of the follower's latest report."""

    def __init__(self, address: str, token: str | None) -> None:
        from mergetool._http import parse_address
        from mergetool.web.app import check_exposure

        self.address, self.token = address, token
        host, _ = parse_address(address, what="--http")
        check_exposure(host, token)  # before anything starts
        self.server: Any = None

    def start(self, follower: Any, echo: Callable[[Any], None]) -> None:
        import time
        from datetime import UTC

        from mergetool._http import HttpServer
        from mergetool.watch.log import LogLine
        from mergetool.watch.page import live_view
        from mergetool.web.app import PageApp, page_url

        def view() -> dict[str, Any]:
            return live_view(follower.latest_report, datetime.now(UTC))

        app = PageApp(view, self.token)
        self.server = HttpServer(self.address, app, what="--http").start()
        host, port = self.server.address
        echo(LogLine(time.time(), "http", f"operator page on {page_url(host, port, self.token)}"))

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def _page_server(address: str | None, token: str | None) -> _PageServer | None:
    return None if address is None else _PageServer(address, token)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
