"""What the operator API answers: ``/status``, ``/status/<node id>``, ``/identities``.

Pure functions of the identities' state, and ``answer``, which computes them on the
service's event loop for ``mergetool._http``'s thread (``/metrics`` comes from ``metrics.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from mergetool._http import Request, Response, Route, json_response
from mergetool.serve.events import iso_utc


def identity_view(ident: Any, problem: str | None = None) -> dict[str, Any]:
    """One entry of ``GET /identities`` (``ident``: a ``serve.identity.Identity``; ``problem``: what
    is failing right now, e.g. the remote k2pow, while the run goes on)."""
    state, last = ident.state, ident.state.last_proof
    return {
        "node_id": ident.config.node_id.hex(),
        "folder": str(ident.config.folder),
        "name": ident.config.name,
        "connected": ident.connected,
        "state": state.public_state,
        "status": state.post_rs_status(),
        "phase": state.progress.to_dict() if state.progress else None,
        "challenge": state.challenge.hex() if state.challenge else None,
        "last_proof": None
        if last is None
        else {
            "challenge": last.challenge.hex(),
            "finished_at": iso_utc(last.finished_at),
            "duration_s": last.duration_s,
        },
        "last_error": state.last_error,
        "problem": problem,
        "num_units": ident.config.num_units,
    }


def view(
    identities: list[Any], path: str, *, problems: Mapping[bytes, str] | None = None
) -> tuple[int, Any]:
    """(HTTP status, JSON document) for a GET of ``path``."""
    parts = [p for p in path.split("/") if p]
    if parts == ["identities"]:
        found = problems or {}
        return 200, {
            "format": 1,
            "identities": [
                identity_view(
                    i, found.get(i.config.node_id) if i.state.state == "proving" else None
                )
                for i in identities
            ],
        }
    if parts == ["status"]:
        if len(identities) == 1:
            return 200, identities[0].state.post_rs_status()
        return 200, {i.config.node_id.hex(): i.state.post_rs_status() for i in identities}
    if len(parts) == 2 and parts[0] == "status":
        wanted = parts[1].lower()
        for ident in identities:
            if ident.config.node_id.hex() == wanted:
                return 200, ident.state.post_rs_status()
        return 404, {"error": f"no identity {parts[1]} is served here"}
    return 404, {"error": f"unknown path {path}", "paths": ["/status", "/identities", "/metrics"]}


def answer(service: Any, request: Request) -> Response:
    """The answer to ``request`` (``service``: a running ``service.Service``; called from an
    HTTP thread, the view is computed on its loop, so it is consistent)."""
    if request.path.rstrip("/") == "/metrics":
        body, ctype = service.metrics.render()
        return Response(200, body, ctype)
    assert service._loop is not None

    async def on_loop() -> tuple[int, Any]:
        return view(service.identities, request.path, problems=service.problems)

    status, doc = asyncio.run_coroutine_threadsafe(on_loop(), service._loop).result(timeout=10)
    return json_response(doc, status)


def operator_app(service: Any) -> Route:
    """The operator page at ``/`` (``mergetool.web``) in front of the API routes."""
    from mergetool.web.app import PageApp

    return PageApp(
        lambda: page_view(service), service.config.http_token, poll_s=2.0,
        fallback=lambda request: answer(service, request),
    )  # fmt: skip


def page_view(service: Any) -> dict[str, Any]:
    """The operator page's JSON (HTTP thread), computed on the loop like ``answer``."""
    from mergetool.serve.page import serve_page_view

    assert service._loop is not None

    async def on_loop() -> dict[str, Any]:
        return serve_page_view(service.identities, service.recent_events, now=service.clock())

    return asyncio.run_coroutine_threadsafe(on_loop(), service._loop).result(timeout=10)


def api_note(address: tuple[str, int], token: str | None) -> str:
    """Where the operator API and page listen, for the start line (never the token)."""
    from mergetool.web.app import page_url

    return f"; operator API and page on {page_url(*address, token)}"
