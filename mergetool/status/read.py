"""``read_status``: ask the node and each operator API, match identities by node id, judge
whether each service may be stopped; ``wait_safe`` polls until all may be."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mergetool._exceptions import InvalidParameters, Unreachable
from mergetool.nodeapi.address import TlsFiles
from mergetool.status.model import IdentityStatus, NodeIdentity, ServiceState, StatusReport
from mergetool.status.node import node_target, read_post_states
from mergetool.status.operators import (
    OperatorSpec,
    parse_operator,
    read_post_rs_status,
    read_serve_identities,
)
from mergetool.status.safety import judge

DEFAULT_TIMEOUT_S = 5.0


def _resolve(name: str, states: list[NodeIdentity] | None) -> bytes | None:
    """The node id an ``--operator NAME=URL`` names: a key file (with or without .key) or hex."""
    for entry in states or ():
        if name in (entry.name, entry.name.removesuffix(".key")):
            return entry.node_id
    try:
        raw = bytes.fromhex(name)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def _error_text(what: str, exc: Unreachable) -> str:
    return f"{what} {exc.message}" + (f" ({exc.hint})" if exc.hint else "")


def _unmatched(spec: OperatorSpec, states: list[NodeIdentity] | None) -> str:
    if states is None:
        return (
            f"cannot tell which identity {spec.name!r} is while the node does not answer "
            "(name it by its node id, 64 hex digits)"
        )
    known = ", ".join(s.name for s in states) or "it has none"
    return f"{spec.name!r} is neither a key file of the node ({known}) nor a node id (64 hex)"


def _ask(
    spec: OperatorSpec, timeout_s: float, token: str | None
) -> list[tuple[bytes, ServiceState]] | ServiceState:
    if spec.name is None:
        return read_serve_identities(spec.url, timeout_s, token)
    return read_post_rs_status(spec.url, timeout_s, token)


def read_status(
    node: str,
    *,
    operators: Sequence[str | OperatorSpec] = (),
    operator_token: str | None = None,
    tls: TlsFiles | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> StatusReport:
    """One row per identity of the node (and of the operator APIs), each judged safe to stop
    or not (``operator_token``: sent to every operator API). A node or service that does not
    answer within ``timeout_s`` is listed in ``errors``; bad arguments raise InvalidParameters
    / UsageProblem."""
    specs = [s if isinstance(s, OperatorSpec) else parse_operator(s) for s in operators]
    specs = list(dict.fromkeys(specs))  # one service given twice is not two services
    node_target(node, tls)  # a bad address is a bad argument, not an unreachable node
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=1 + len(specs)) as pool:
        node_call = pool.submit(read_post_states, node, tls=tls, timeout_s=timeout_s)
        calls = [pool.submit(_ask, spec, timeout_s, operator_token) for spec in specs]
        states: list[NodeIdentity] | None
        try:
            states = node_call.result()
        except Unreachable as exc:
            states = None
            errors.append(_error_text("node", exc))
        services: dict[bytes, ServiceState] = {}
        problems: dict[bytes, str] = {}
        for spec, call in zip(specs, calls, strict=True):
            node_id = _resolve(spec.name, states) if spec.name is not None else None
            if spec.name is not None and node_id is None:
                errors.append(f"--operator {spec.name}={spec.url}: " + _unmatched(spec, states))
            try:
                answer: Any = call.result()
            except Unreachable as exc:
                errors.append(_error_text("service", exc))
                if node_id is not None:
                    problems[node_id] = f"its service at {spec.url} did not answer"
                continue
            pairs = answer if spec.name is None else [(node_id, answer)] if node_id else []
            for served_id, service in pairs:
                other = services.setdefault(served_id, service)
                if other is not service:
                    errors.append(
                        f"identity {served_id.hex()} is served by both {other.source} and "
                        f"{service.source}: only one service may run for an identity"
                    )
    return StatusReport(node, _rows(states, services, problems), tuple(errors))


def _rows(
    states: list[NodeIdentity] | None,
    services: dict[bytes, ServiceState],
    problems: dict[bytes, str],
) -> tuple[IdentityStatus, ...]:
    listed = {s.node_id: s for s in states or ()}
    order = [*listed, *sorted(set(services) - set(listed))]
    rows = []
    for node_id in order:
        entry, service = listed.get(node_id), services.get(node_id)
        problem = problems.get(node_id) or (
            None if service else "no --operator answered for it: its service's state is unknown"
        )
        safe, reason = judge(
            entry.state if entry else None, service, problem, node_answered=states is not None
        )
        name = entry.name if entry else service.name if service else None
        rows.append(
            IdentityStatus(
                node_id=node_id,
                name=name,
                node_state=entry.state if entry else None,
                service=service,
                service_problem=problem,
                safe_to_stop=safe,
                reason=reason,
                node_answered=states is not None,
            )
        )
    return tuple(rows)


def wait_safe(
    node: str,
    *,
    operators: Sequence[str | OperatorSpec] = (),
    operator_token: str | None = None,
    tls: TlsFiles | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    wait_s: float,
    interval_s: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_poll: Callable[[StatusReport], None] | None = None,
) -> StatusReport:
    """Poll :func:`read_status` every ``interval_s`` until every identity is safe to stop or
    ``wait_s`` has passed; the last report says which (``report.safe_to_stop``)."""
    for name, value, least in (("wait_s", wait_s, 0.0), ("interval_s", interval_s, 1e-3)):
        if not (math.isfinite(value) and value >= least):  # (nan would never time out)
            raise InvalidParameters(f"`{name}` must be a number of seconds >= {least:g}")
    specs = [s if isinstance(s, OperatorSpec) else parse_operator(s) for s in operators]
    node_target(node, tls)
    deadline = clock() + wait_s
    while True:
        report = read_status(
            node, operators=specs, operator_token=operator_token, tls=tls, timeout_s=timeout_s
        )
        if on_poll is not None:
            on_poll(report)
        left = deadline - clock()
        if report.safe_to_stop or left <= 0:
            return report
        sleep(min(interval_s, left))
