"""The developer portal in a real browser (Playwright, Debian's chromium) against a real gateway:
the docs page renders every published route, and "Try it out" gets a real answer through the gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.portal.backends import DocumentBackend
from tests.portal.setup import refresh_and_sync, shop
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("GATEWAY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")


@contextmanager
def browser_page() -> Iterator[Any]:
    """Opened after the test's database work: Playwright's sync API runs an event loop in this thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


@pytest.mark.usefixtures("chromium")
def test_the_docs_page_renders_and_try_it_out_answers_through_the_gateway(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    shop(config, pets_backend, validate_requests=True)
    refresh_and_sync(config)

    with browser_page() as page:
        outside: list[str] = []
        page.on(
            "request", lambda request: outside.append(request.url) if not request.url.startswith(gateway.url) else None
        )
        page.goto(f"{gateway.url}/api/v1/docs")
        page.wait_for_selector("#operations-Pets-listPets")
        listed = page.locator(".opblock-summary-path").all_inner_texts()
        operation = page.locator("#operations-Pets-listPets")
        operation.locator(".opblock-summary").click()
        operation.locator(".try-out__btn").click()
        operation.locator("input[placeholder='limit']").fill("3")
        operation.locator(".execute").click()
        operation.locator(".live-responses-table tbody .response-col_status").first.wait_for()
        status = operation.locator(".live-responses-table tbody .response-col_status").first.inner_text()
        body = operation.locator(".live-responses-table tbody .microlight").first.inner_text()

    assert {"/shop/pets", "/shop/pets/{petId}"} <= {text.replace("\u200b", "") for text in listed}
    assert status.strip() == "200"
    assert '"path": "/pets"' in body and '"query": "limit=3"' in body
    assert outside == []  # no CDN: every asset came from the gateway
    assert pets_backend.seen == ["GET /pets?limit=3"]
