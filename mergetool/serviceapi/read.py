"""Reading PoST services' operator APIs (shared by ``status`` and ``watch``): ``GET
/identities`` of ``mergetool serve`` and ``GET /status`` of a post-rs ``service``; plain HTTP
with a timeout, answers checked against their documented shapes.
"""

from __future__ import annotations

import http.client
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mergetool._exceptions import InvalidParameters, Unreachable
from mergetool._http import http_request
from mergetool.serviceapi.state import ServiceState

_MAX_ANSWER_BYTES = 4 << 20
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_PHASES = ("waiting-for-disk", "k2pow", "reading", "verifying", "saving")


@dataclass(frozen=True)
class OperatorSpec:
    """An ``--operator`` value: a ``mergetool serve`` URL, or ``NAME=URL`` of a post-rs
    service (NAME: the key file name, with or without ``.key``, or the node id hex)."""

    url: str
    name: str | None = None


def parse_operator(text: str) -> OperatorSpec:
    """``URL`` or ``NAME=URL`` (a URL without a scheme gets ``http://``); InvalidParameters
    (exit 2) names the value when it is not an http(s) URL of a host and port."""
    given = text
    name: str | None = None
    head, sep, tail = text.partition("=")
    if sep and "/" not in head and ":" not in head:
        name, text = head.strip(), tail
        if not name:
            raise InvalidParameters(f"--operator {text!r}: NAME before '=' is empty")
    url = text.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    example = "expected an http(s) URL like http://127.0.0.1:50051"
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidParameters(f"--operator {given!r}: {example} (it holds a space or a control)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no port
    except ValueError as exc:  # a bad port, an unclosed [IPv6 bracket
        raise InvalidParameters(f"--operator {given!r}: {example} ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameters(f"--operator {given!r}: {example}")
    if parts.query or parts.fragment or parts.username is not None:
        raise InvalidParameters(
            f"--operator {given!r}: {example}, without user, ?query or #fragment"
        )
    return OperatorSpec(url, name)


def _get_json(url: str, timeout_s: float, token: str | None = None) -> Any:
    """The JSON answer to ``GET url`` (``token`` sent as ``Authorization: Bearer``);
    Unreachable names the URL and what went wrong."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        status, reason, body = http_request(
            "GET", url, timeout_s=timeout_s, max_bytes=_MAX_ANSWER_BYTES, headers=headers
        )
    except TimeoutError as exc:
        raise Unreachable(url, f"no answer within {timeout_s:g} s") from exc
    except http.client.HTTPException as exc:
        raise Unreachable(
            url, f"answered something that is not HTTP ({type(exc).__name__})"
        ) from exc
    except OSError as exc:
        raise Unreachable(url, f"no answer ({exc.strerror or exc})") from exc
    if status == 401:
        raise Unreachable(
            url,
            "answered HTTP 401: it is guarded by a token"
            + (" and refused the one given" if token else ""),
            hint="Give `operator_token`: the --http-token it was started with "
            "(or set MERGETOOL_HTTP_TOKEN).",
        )
    if status != 200:
        raise Unreachable(url, f"answered HTTP {status} {reason}")
    if len(body) > _MAX_ANSWER_BYTES:
        raise Unreachable(url, "answered far more than an operator API does")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Unreachable(url, "answered something that is not JSON") from exc


def parse_post_rs_status(url: str, value: Any) -> ServiceState:
    """A post-rs ``/status`` value: ``"Idle"``, ``{"Proving": {...}}`` or ``"DoneProving"``."""
    if value == "Idle":
        return ServiceState(url, "idle")
    if value == "DoneProving":
        return ServiceState(url, "done")
    proving = value.get("Proving") if isinstance(value, dict) and len(value) == 1 else None
    position = proving.get("position") if isinstance(proving, dict) else None
    if isinstance(position, int) and not isinstance(position, bool) and position >= 0:
        # post-rs reports position 0 while the pass's k2pow runs
        phase = "k2pow" if position == 0 else "reading"
        return ServiceState(url, "proving", phase=phase, bytes_read=position)
    if isinstance(value, dict) and value and all(_HEX64.fullmatch(str(k)) for k in value):
        raise Unreachable(
            url,
            "answered the status of several identities",
            hint="This is a `mergetool serve`: give it as --operator URL, without NAME=.",
        )
    raise Unreachable(url, f"answered an unknown status {json.dumps(value)[:200]}")


def read_post_rs_status(url: str, timeout_s: float, token: str | None = None) -> ServiceState:
    """``GET URL/status`` of a post-rs service."""
    status_url = url + "/status"
    return parse_post_rs_status(status_url, _get_json(status_url, timeout_s, token))


def _count(value: Any) -> int | None:
    """A count or size the API gave (None for anything else: a negative one means nothing)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _rate(value: Any) -> float | None:
    """A rate or a number of seconds the API gave (None for anything else)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) and value >= 0 else None


def _serve_entry(url: str, entry: Any) -> tuple[bytes, ServiceState]:
    if not isinstance(entry, dict) or not _HEX64.fullmatch(str(entry.get("node_id", ""))):
        raise Unreachable(url, f"answered an identity without a 64-hex node_id: {entry!r:.200}")
    state = entry.get("state")
    if state not in ("idle", "proving", "done"):
        raise Unreachable(url, f"answered an unknown state {state!r} for {entry['node_id']}")
    phase = entry.get("phase")
    phase = phase if isinstance(phase, dict) else {}
    groups = (_count(phase.get("k2pow_groups_done")), _count(phase.get("k2pow_groups_total")))
    service = ServiceState(
        url,
        state,
        connected=entry.get("connected") if isinstance(entry.get("connected"), bool) else None,
        phase=phase.get("name") if phase.get("name") in _PHASES else None,
        bytes_read=_count(phase.get("bytes_read")),
        bytes_total=_count(phase.get("bytes_total")),
        k2pow_groups=groups if None not in groups else None,  # type: ignore[arg-type]
        pass_number=_count(phase.get("pass")),
        rate_bytes_s=_rate(phase.get("rate_bytes_s")),
        eta_s=_rate(phase.get("eta_s")),
        name=entry.get("name") if isinstance(entry.get("name"), str) else None,
        last_error=_text(entry.get("last_error")),
        problem=_text(entry.get("problem")),
    )
    return bytes.fromhex(entry["node_id"]), service


def read_serve_identities(
    url: str, timeout_s: float, token: str | None = None
) -> list[tuple[bytes, ServiceState]]:
    """``GET URL/identities`` of ``mergetool serve``: (node id, state) per identity (``token``:
    the serve's ``--http-token``, when it has one)."""
    list_url = url + "/identities"
    doc = _get_json(list_url, timeout_s, token)
    entries = doc.get("identities") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise Unreachable(
            list_url,
            'answered without an "identities" list',
            hint="Is it a `mergetool serve` operator API? For a post-rs service write "
            "--operator NAME=URL.",
        )
    return [_serve_entry(list_url, e) for e in entries]
