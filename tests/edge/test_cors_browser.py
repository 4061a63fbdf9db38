"""CORS in a real browser (Playwright, Debian's chromium): a page served from one origin calls routes
of the gateway (another origin: another port on loopback) with fetch. A preflighted call succeeds
where the page's origin is allowed and fails where it is not, as the browser enforces it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
PAGE = b"<!doctype html><title>edge</title><p>a page on another origin</p>"
CALL = """async ([url, credentials]) => {
    try {
        const response = await fetch(url, {
            method: "PUT",
            headers: {"Content-Type": "application/json", "X-Trace": "browser"},
            body: JSON.stringify({hello: "gateway"}),
            credentials: credentials ? "include" : "same-origin",
        });
        const echoed = await response.json();
        return {ok: true, status: response.status, method: echoed.method,
                requestId: response.headers.get("X-Request-ID")};
    } catch (error) {
        return {ok: false, error: String(error)};
    }
}"""

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("GATEWAY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page_origin() -> Iterator[str]:
    """The page's own origin: a small server on another port of 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def browser_calls(page_url: str, calls: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Opened after the test's database work: Playwright's sync API runs an event loop in this thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(page_url)
            return [page.evaluate(CALL, [url, credentials]) for url, credentials in calls]
        finally:
            browser.close()


@pytest.mark.usefixtures("chromium")
def test_a_browser_calls_an_allowed_route_cross_origin_and_is_stopped_on_the_others(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread, page_origin: str
) -> None:
    service = config.service("api", [edge_backend])
    config.route(service, "/open", methods="GET,PUT", cors="on", cors_origins=page_origin, cors_max_age=0,
                 cors_expose_headers="X-Request-ID")  # fmt: skip
    config.route(service, "/credentialed", cors="on", cors_origins=page_origin, cors_credentials=True)
    config.route(service, "/elsewhere", cors="on", cors_origins="https://app.example")
    config.route(service, "/plain")
    config.sync()
    before = edge_backend.count()

    allowed, credentialed, refused, plain = browser_calls(
        page_origin + "/",
        [
            (f"{gateway.url}/open/items", False),
            (f"{gateway.url}/credentialed/items", True),
            (f"{gateway.url}/elsewhere/items", False),
            (f"{gateway.url}/plain/items", False),
        ],
    )

    assert allowed == {"ok": True, "status": 200, "method": "PUT", "requestId": allowed["requestId"]}
    assert allowed["requestId"]  # exposed to the page by Access-Control-Expose-Headers
    assert credentialed["ok"] and credentialed["status"] == 200
    assert not refused["ok"] and "Failed to fetch" in refused["error"]
    assert not plain["ok"]
    # The preflights of /open, /credentialed and /elsewhere were answered by the gateway; the browser
    # sent the two allowed PUTs; /plain's preflight (no CORS on that route) went to the backend, which
    # answered without CORS headers, so its PUT was never sent.
    assert edge_backend.count() == before + 3
