"""The compliance officer's flow in a real browser (Playwright, Debian's chromium) against a real
gateway process serving the admin: sign in, search by request id and by consumer, export the result
as CSV, and read the downloaded file."""

from __future__ import annotations

import csv
from typing import Any

import pytest

from registry.models import Consumer
from tests.compliance.officer_support import PASSWORD, add, event, staff
from tests.support.browser import browser_page, chromium  # noqa: F401  (chromium: a fixture)
from tests.support.servers import GatewayProcess

pytestmark = pytest.mark.slow


@pytest.mark.usefixtures("transactional_db", "roles", "chromium")
def test_an_officer_searches_and_exports_csv_in_the_browser(gateway: GatewayProcess) -> None:
    staff("olga", "compliance officer")
    alice = Consumer.objects.create(name="alice")
    add(
        event(request_id="req-alpha", consumer=str(alice.pk), consumer_name="alice", status=200),
        event(request_id="req-beta", consumer=str(alice.pk), consumer_name="alice", status=429),
        event(request_id="req-gamma", consumer="77", consumer_name="bob", status=502),
    )

    with browser_page() as page:
        rows = search_and_export(page, gateway.url)

    assert [(r["request_id"], r["status"], r["consumer_name"]) for r in rows] == [
        ("req-alpha", "200", "alice"),
        ("req-beta", "429", "alice"),
    ]


def search_and_export(page: Any, url: str) -> list[dict[str, str]]:
    page.goto(f"{url}/admin/login/?next=/admin/compliance/auditevent/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/compliance/auditevent/")
    # Besides the three requests: alice's creation (control-plane audit), olga's account and her
    # group (access events, like the roles the test set up), and olga's own sign-in.
    listed = page.locator("#result_list").inner_text()
    for action in ("gateway.consumer.created", "access.user.created", "access.signin.succeeded"):
        assert action in listed
    page.goto(f"{url}/admin/compliance/auditevent/?kind=request")
    assert page.locator("#result_list tbody tr").count() == 3

    page.fill("input[name=request_id]", "req-gamma")
    page.press("input[name=request_id]", "Enter")
    page.wait_for_url("**request_id=req-gamma**")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "req-gamma" in page.locator("#result_list").inner_text()

    page.goto(f"{url}/admin/compliance/auditevent/")
    page.fill("input[name=consumer]", "alice")
    page.press("input[name=consumer]", "Enter")
    page.wait_for_url("**consumer=alice**")
    assert page.locator("#result_list tbody tr").count() == 2

    page.click("#export-results")
    page.wait_for_url("**/export/?consumer=alice")
    assert "Matching events: 2." in page.content()
    page.check("input[name=_format][value=csv]")
    with page.expect_download() as download_info:
        page.click("#export-submit")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="") as handle:
        return list(csv.DictReader(handle))
