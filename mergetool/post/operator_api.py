"""The post-service operator API: ``GET /status`` over plain HTTP from a background thread."""

from __future__ import annotations

import threading
from typing import Any

from mergetool._http import HttpServer, json_response, parse_address

__all__ = ["OperatorServer", "parse_address"]


class OperatorServer:
    """Serves the prover's state as post-service does: Idle, Proving{…} or DoneProving."""

    def __init__(self, address: str) -> None:
        self._lock = threading.Lock()
        self._status: Any = "Idle"
        self._http = HttpServer(address, self._route)

    def _route(self, path: str) -> tuple[int, bytes, str]:
        if path.rstrip("/") != "/status":
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
        with self._lock:
            self._status = "Idle"

    def set_proving(
        self, start: int, end: int, position: int, k2pow: dict[str, object] | None = None
    ) -> None:
        """Proving nonces ``start .. end``; ``position`` bytes scanned (0 while k2pow runs,
        when ``k2pow`` says how far it got: an extra key, post-service has none)."""
        proving: dict[str, object] = {"nonces": {"start": start, "end": end}, "position": position}
        if k2pow is not None:
            proving["k2pow"] = k2pow
        with self._lock:
            self._status = {"Proving": proving}

    def set_done(self) -> None:
        with self._lock:
            self._status = "DoneProving"

    def __enter__(self) -> OperatorServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()
