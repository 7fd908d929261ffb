"""Screenshots of the operator page with three identities, in headless Chromium.

    python scripts/screenshot_page.py [--out docs/images] [--url URL]

Serves the page over the real HTTP server on 127.0.0.1 with the example document of
``tests/web/sample_view.py`` (or shoots a running page at ``--url``, e.g. watch's in
``make demo-serve``) and writes ``page.png`` (1280 px wide) and ``page-narrow.png``
(400 px). Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mergetool._http import HttpServer
from mergetool.web.app import PageApp
from tests.web.browser import chromium, wait_until, why_no_browser
from tests.web.sample_view import sample_view


def shoot(url: str, out: Path, width: int) -> None:
    with chromium(width, 900) as driver:
        driver.get(url)
        wait_until(lambda: driver.find_elements("css selector", "#identities tbody tr"))
        time.sleep(0.3)  # the countdown's first tick
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, height + 120)
        time.sleep(0.3)
        driver.save_screenshot(str(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--url", help="a running page instead of the example document")
    args = parser.parse_args()
    reason = why_no_browser()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    if args.url:
        args.out.mkdir(parents=True, exist_ok=True)
        shoot(args.url, args.out / "page.png", 1280)
        shoot(args.url, args.out / "page-narrow.png", 400)
        print(f"wrote {args.out / 'page.png'} and {args.out / 'page-narrow.png'}")
        return 0
    started = time.time()
    app = PageApp(lambda: sample_view(started + (time.time() - started), gap_in_s=5400), poll_s=1)
    server = HttpServer("127.0.0.1:0", app=app).start()
    try:
        host, port = server.address
        args.out.mkdir(parents=True, exist_ok=True)
        shoot(f"http://{host}:{port}/", args.out / "page.png", 1280)
        shoot(f"http://{host}:{port}/", args.out / "page-narrow.png", 400)
    finally:
        server.stop()
    print(f"wrote {args.out / 'page.png'} and {args.out / 'page-narrow.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
