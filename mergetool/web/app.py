"""The operator page as a pure HTTP app: ``GET /`` (the page), ``/assets/<file>``,
``/api/page`` (the ``mergetool-page/1`` JSON of ``view()``); read-only, 404 otherwise.

Served by ``mergetool._http.HttpServer(address, PageApp(...))``. On an address other than
loopback a token is required (``check_exposure``); every path then answers 401 without it,
given as ``?token=`` or ``Authorization: Bearer``.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
import urllib.parse
from collections.abc import Callable
from importlib import resources
from typing import Any

from mergetool._exceptions import InvalidParameters
from mergetool._http import Request, Response, Route

FORMAT = "mergetool-page/1"
TOKEN_ENV = "MERGETOOL_HTTP_TOKEN"
_ASSETS = {"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8"}
_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # the token may be in the page's address
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: whatever it resolves to may be reachable from outside


def check_exposure(host: str, token: str | None, *, flag: str = "--http-token") -> None:
    """Refuse (InvalidParameters) to serve the page on a non-loopback ``host`` without a token."""
    if token is not None and not token.strip():
        raise InvalidParameters(f"{flag} is empty: give a secret of your own, or leave it out")
    if token is None and not is_loopback(host):
        raise InvalidParameters(
            f"the operator page would be open to the network on {host}: give {flag} SECRET "
            f"(or set {TOKEN_ENV}), or bind to 127.0.0.1",
            hint="The page then answers 401 unless opened as http://HOST:PORT/?token=SECRET.",
        )


def page_url(host: str, port: int, token: str | None) -> str:
    """Where the page is, for the log: ``http://HOST:PORT/``, saying when a token is needed
    (never the token itself)."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    note = " (token required: open it as /?token=<the --http-token>)" if token is not None else ""
    return f"http://{where}/{note}"


def _asset(name: str) -> bytes:
    return resources.files("mergetool.web").joinpath("static", name).read_bytes()


class PageApp:
    """``app(request) -> Response`` for the page; ``view()`` builds the page JSON per request.

    ``fallback`` answers the paths that are not the page's (e.g. serve's ``/status``), after
    the token check; ``poll_s`` is how often the page asks for ``/api/page``.
    """

    def __init__(
        self,
        view: Callable[[], dict[str, Any]],
        token: str | None = None,
        *,
        poll_s: float = 3.0,
        fallback: Route | None = None,
    ) -> None:
        self.view, self.token, self.poll_s, self.fallback = view, token, poll_s, fallback

    def __call__(self, request: Request) -> Response:
        if self.token is not None and not self._allowed(request):
            return _json(
                {"error": "a token is required: open the page as /?token=SECRET"},
                401, (("WWW-Authenticate", 'Bearer realm="mergetool"'),),
            )  # fmt: skip
        page_path = request.path == "/" or request.path.startswith(("/assets/", "/api/page"))
        if self.fallback is not None and not page_path:
            return self.fallback(request)
        if request.method != "GET":
            return _json({"error": "read-only: only GET is answered"}, 405, (("Allow", "GET"),))
        if request.path == "/":
            return self._page(request)
        if request.path == "/api/page":
            return _json(self.view())
        name = request.path.removeprefix("/assets/")
        if name in _ASSETS:
            return Response(200, _asset(name), _ASSETS[name], _HEADERS)
        return _json({"error": f"unknown path {request.path}", "paths": ["/", "/api/page"]}, 404)

    def _allowed(self, request: Request) -> bool:
        assert self.token is not None
        given = request.query.get("token")
        auth = request.headers.get("authorization", "")
        if given is None and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _page(self, request: Request) -> Response:
        token = request.query.get("token")
        suffix = "?" + urllib.parse.urlencode({"token": token}) if token else ""
        text = _asset("index.html").decode()
        text = text.replace("{{poll_ms}}", str(max(100, round(self.poll_s * 1000))))
        text = text.replace("{{asset_query}}", html.escape(suffix, quote=True))
        return Response(200, text.encode(), "text/html; charset=utf-8", _HEADERS)


def _json(doc: Any, status: int = 200, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    body = json.dumps(doc).encode()
    return Response(status, body, "application/json", _HEADERS + extra)
