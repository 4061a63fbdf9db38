"""A real browser for end-to-end tests: Playwright with Debian's chromium (never ``playwright install``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture
def chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("GATEWAY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")


@contextmanager
def browser_page() -> Iterator[Any]:
    """Opened after the test's database work: Playwright's sync API runs an event loop in this
    thread, and Django refuses ORM calls while one runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        # The browser's own /favicon.ico would be audited too (a refused request): not the officer's data.
        context.route("**/favicon.ico", lambda route: route.abort())
        yield page
        context.close()
        browser.close()
