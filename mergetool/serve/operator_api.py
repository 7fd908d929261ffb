"""The operator HTTP API of ``serve``: ``/status``, ``/status/<node id>``, ``/identities``,
``/metrics``. Served from a thread; each answer is computed on the service's event loop so
that it sees one consistent state.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mergetool._exceptions import InvalidParameters, ServeError
from mergetool.post.operator_api import parse_address

#: ``route(path)`` -> (HTTP status, body, content type)
Router = Callable[[str], tuple[int, bytes, str]]


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def json_body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


class OperatorApi:
    """An HTTP server on ``address`` answering GETs through ``route``."""

    def __init__(self, address: str, route: Router) -> None:
        host, port = parse_address(address)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                try:
                    status, body, ctype = route(self.path.split("?")[0])
                except Exception as exc:  # noqa: BLE001 - answer, never kill the thread
                    status, body, ctype = 500, json_body({"error": str(exc)}), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the library never prints

        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        server_class.daemon_threads = True
        try:
            self._httpd = server_class((host, port), Handler)
        except socket.gaierror as exc:
            raise InvalidParameters(f"operator address {address!r}: {exc.strerror}") from exc
        except OSError as exc:
            raise ServeError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> OperatorApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
