"""What the operator API answers: ``/status``, ``/status/<node id>``, ``/identities``.

Pure functions of the identities' state (the service computes them on its event loop and
serves them with ``mergetool._http``; ``/metrics`` comes from ``metrics.py``).
"""

from __future__ import annotations

from typing import Any

from mergetool.serve.events import iso_utc


def identity_view(ident: Any) -> dict[str, Any]:
    """One entry of ``GET /identities`` (``ident``: a ``service.Identity``)."""
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
        "num_units": ident.config.num_units,
    }


def view(identities: list[Any], path: str) -> tuple[int, Any]:
    """(HTTP status, JSON document) for a GET of ``path``."""
    parts = [p for p in path.split("/") if p]
    if parts == ["identities"]:
        return 200, {"format": 1, "identities": [identity_view(i) for i in identities]}
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
