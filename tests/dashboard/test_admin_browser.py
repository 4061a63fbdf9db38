"""The admin in a real browser (Playwright, Debian's chromium) against a real gateway process: the
dashboard draws its charts from live traffic, a service turns red on the dashboard (without a
reload) when its backend is stopped and its breaker opens, the route form hides and shows its
sections as the switches move, a consumer's new key is shown once in a dialog, and the History page
shows the change field by field. One test: one browser start, one sign-in."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model

from tests.support.browser import browser_page, chromium  # noqa: F401  (chromium: a fixture)
from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess

pytestmark = pytest.mark.slow
PASSWORD = "dashboard-pass-1"


def _sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}/admin/")


@pytest.mark.usefixtures("chromium")
def test_the_dashboard_charts_live_traffic_turns_a_failing_service_red_and_the_route_form_guides(
    config: ConfigHelper, gateway: GatewayProcess
) -> None:
    backend = BackendThread("dash").start()  # stopped by the test itself
    get_user_model().objects.create_superuser("dora", "dora@example.com", PASSWORD)
    service = config.service("dash", targets=[backend], breaker_enabled=True, breaker_failures=2, retries=0)
    route = config.route(service, "/dash")
    consumer = config.consumer("dash-shop")
    config.sync()
    with httpx.Client(base_url=gateway.url) as client:
        assert all(client.get("/dash/item").status_code == 200 for _ in range(20))

    with browser_page() as page:
        _sign_in(page, gateway.url)
        line = page.locator('#dash-charts .dash-range[data-range="15m"] path.series[data-service="dash"]').first
        assert float(line.get_attribute("data-latest") or 0) > 0  # req/s of the newest point
        assert page.locator("#dash-charts svg.chart").count() == 6
        hour = page.locator('.dash-range[data-range="1h"]')
        assert hour.is_hidden()
        page.click('.dash-range-button[data-range="1h"]')
        assert hour.is_visible() and page.locator('.dash-range[data-range="15m"]').is_hidden()
        hour_line = hour.locator('path.series[data-service="dash"]').first
        assert float(hour_line.get_attribute("data-latest") or 0) > 0
        card = page.locator('.dash-service[data-service="dash"]')
        assert "dash-service-healthy" in (card.get_attribute("class") or "")
        assert "dash-item" not in page.locator("#dash-top-routes").inner_text()
        assert "dash-dash" in page.locator("#dash-top-routes").inner_text()  # the route's name

        backend.stop()
        statuses: list[int] = []
        with httpx.Client(base_url=gateway.url) as client:
            while 503 not in statuses and len(statuses) < 20:
                statuses.append(client.get("/dash/item").status_code)
                time.sleep(0.05)
        assert statuses[:2] == [502, 502] and statuses[-1] == 503  # then the breaker opened
        # No reload: the dashboard refreshes itself.
        page.wait_for_selector('.dash-service.dash-service-unhealthy[data-service="dash"]', timeout=15_000)
        assert "open" in page.locator('.dash-service[data-service="dash"]').inner_text()

        page.goto(f"{gateway.url}/admin/registry/route/{route.pk}/change/")

        def group(title: str) -> Any:
            return page.locator("fieldset.gw-when-auth_mode").filter(
                has=page.get_by_role("heading", name=title, exact=True)
            )

        assert group("JWT").is_hidden() and group("API keys").is_hidden()  # no authentication
        page.select_option("#id_auth_mode", "jwt")
        assert group("JWT").is_visible() and group("API keys").is_hidden()
        assert group("Identity sent upstream").is_visible()
        cache = page.locator("fieldset.gw-switch", has=page.locator("#id_cache_enabled"))
        cache.locator("summary").click()  # unused sections start collapsed
        ttl = page.locator(".form-row.field-cache_ttl")
        assert ttl.is_hidden()  # the cache is off: only its switch shows
        page.check("#id_cache_enabled")
        assert ttl.is_visible()
        page.uncheck("#id_cache_enabled")
        assert ttl.is_hidden()

        page.goto(f"{gateway.url}/admin/registry/consumer/{consumer.pk}/change/")
        page.click("#add-api-key")
        dialog = page.locator("#new-key-dialog")
        dialog.wait_for()
        key = page.locator("#new-key").inner_text()
        assert re.fullmatch(r"gw_[0-9a-f]{8}_[A-Za-z0-9]{32}", key)
        page.click("#copy-new-key")
        page.click("#close-new-key")
        assert dialog.is_hidden()
        page.fill("#id_roles", "orders:read")
        page.click("input[name=_continue]")
        page.click("a.historylink")
        change = page.locator("#audit-history tr.audit-change", has_text="roles").first
        assert '"orders:read"' in change.inner_text() and "gateway.consumer.updated" in change.inner_text()
