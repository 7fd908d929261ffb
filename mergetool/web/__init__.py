"""The operator page: static HTML, CSS and one script (``static/``) and the pure HTTP app
that serves them with the page's JSON (``app.py``); the JSON's shape is ``mergetool-page/1``."""

from mergetool.web.app import TOKEN_ENV, PageApp, check_exposure, is_loopback, page_url

__all__ = ["TOKEN_ENV", "PageApp", "check_exposure", "is_loopback", "page_url"]
