"""``PageApp`` without a browser: paths, read-only, the token rule, and the exposure check."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from mergetool._exceptions import InvalidParameters
from mergetool._http import HttpServer, Request, Response
from mergetool.web.app import PageApp, check_exposure
from tests.web.sample_view import sample_view


def get(app: PageApp, path: str, method: str = "GET", **kw: Any) -> Response:
    return app(Request(method, path, **kw))


def test_paths_of_the_page() -> None:
    app = PageApp(lambda: sample_view(0.0), poll_s=0.5)
    page = get(app, "/")
    assert page.status == 200 and page.content_type.startswith("text/html")
    html = page.body.decode()
    assert 'data-poll-ms="500"' in html and 'href="assets/page.css"' in html
    assert get(app, "/assets/page.js").content_type.startswith("text/javascript")
    assert get(app, "/assets/page.css").status == 200
    doc = json.loads(get(app, "/api/page").body)
    assert doc["format"] == "mergetool-page/1" and len(doc["identities"]) == 3
    for path in ("/assets/../app.py", "/assets/index.html", "/nope", "/api/pages"):
        assert get(app, path).status == 404, path


def test_read_only() -> None:
    app = PageApp(lambda: sample_view(0.0))
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = get(app, "/api/page", method)
        assert response.status == 405
        assert ("Allow", "GET") in response.headers


def test_token_by_query_or_bearer_header() -> None:
    app = PageApp(lambda: sample_view(0.0), "s3cret")
    for path in ("/", "/api/page", "/assets/page.js", "/nope"):
        assert get(app, path).status == 401, path
    assert get(app, "/api/page", query={"token": "wrong"}).status == 401
    assert get(app, "/api/page", query={"token": "s3cret"}).status == 200
    ok = get(app, "/api/page", headers={"authorization": "Bearer s3cret"})
    assert ok.status == 200
    html = get(app, "/", query={"token": "s3cret"}).body.decode()
    assert 'src="assets/page.js?token=s3cret"' in html  # assets load with the token too


def test_fallback_answers_other_paths_after_the_token() -> None:
    app = PageApp(dict, "t", fallback=lambda r: Response(200, b"api", "text/plain"))
    assert get(app, "/status").status == 401
    assert get(app, "/status", query={"token": "t"}).body == b"api"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "node.example"])
def test_off_loopback_a_token_is_required(host: str) -> None:
    with pytest.raises(InvalidParameters, match=f"open to the network on {host}: give --http-"):
        check_exposure(host, None)
    check_exposure(host, "s3cret")


def test_loopback_needs_no_token_and_an_empty_one_is_refused() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        check_exposure(host, None)
    with pytest.raises(InvalidParameters, match="--http-token is empty"):
        check_exposure("0.0.0.0", " ")


@pytest.fixture
def served() -> Iterator[str]:
    server = HttpServer("127.0.0.1:0", PageApp(lambda: sample_view(0.0), "s3cret")).start()
    try:
        host, port = server.address
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_over_real_http(served: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{served}/api/page", timeout=10)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Bearer")
    request = urllib.request.Request(
        f"{served}/api/page", headers={"Authorization": "Bearer s3cret"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Cache-Control"] == "no-store"
        assert json.loads(response.read())["source"] == "watch"
    post = urllib.request.Request(f"{served}/api/page?token=s3cret", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as not_allowed:
        urllib.request.urlopen(post, timeout=10)
    assert not_allowed.value.code == 405


def test_public_names_and_the_log_line() -> None:
    import mergetool.web
    from mergetool.web.app import page_url

    assert mergetool.web.__all__ == [
        "TOKEN_ENV", "PageApp", "check_exposure", "is_loopback", "page_url",
    ]  # fmt: skip
    assert page_url("127.0.0.1", 8095, None) == "http://127.0.0.1:8095/"
    assert page_url("::", 80, "s3cret") == (
        "http://[::]:80/ (token required: open it as /?token=<the --http-token>)"
    )
