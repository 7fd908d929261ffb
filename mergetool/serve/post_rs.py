"""post-rs's operator API: the one builder of its ``/status`` value, and the server that
``post prove --operator-address`` runs with it (HTTP is service code, not the PoST engine's).
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from mergetool._http import HttpServer, Request, Response, json_response

__all__ = ["OperatorServer", "post_rs_status"]


def post_rs_status(
    state: Literal["idle", "proving", "done"],
    *,
    nonces: tuple[int, int] = (0, 0),
    position: int = 0,
    k2pow: dict[str, object] | None = None,
) -> Any:
    """Exactly post-rs's value: "Idle", {"Proving": {nonces, position}} or "DoneProving".

    ``position``: bytes scanned (0 while k2pow runs, when ``k2pow`` may say how far it got:
    an extra key that post-rs does not have).
    """
    if state == "done":
        return "DoneProving"
    if state != "proving":
        return "Idle"
    start, end = nonces
    proving: dict[str, object] = {"nonces": {"start": start, "end": end}, "position": position}
    if k2pow is not None:
        proving["k2pow"] = k2pow
    return {"Proving": proving}


class OperatorServer:
    """Serves one prover's state on ``GET /status`` as post-rs's service does."""

    def __init__(self, address: str, **limits: Any) -> None:
        self._lock = threading.Lock()
        self._status: Any = post_rs_status("idle")
        self._http = HttpServer(address, self._route, what="--operator-address", **limits)

    def _route(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/status":
            return json_response({"error": "not found"}, 404)
        return json_response(self.status)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); port 0 in the request becomes the real one."""
        return self._http.address

    @property
    def status(self) -> Any:
        with self._lock:
            return self._status

    def set_idle(self) -> None:
        self._set(post_rs_status("idle"))

    def set_proving(
        self, start: int, end: int, position: int, k2pow: dict[str, object] | None = None
    ) -> None:
        self._set(post_rs_status("proving", nonces=(start, end), position=position, k2pow=k2pow))

    def set_done(self) -> None:
        self._set(post_rs_status("done"))

    def _set(self, value: Any) -> None:
        with self._lock:
            self._status = value

    def __enter__(self) -> OperatorServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()
