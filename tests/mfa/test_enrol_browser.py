"""In a real browser (Playwright, Debian's chromium) against a real gateway process: an admin sets up
an authenticator app from the enrolment page, gets backup codes, and signs in again with a code
computed from the secret the page showed."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import User

from compliance.models import AuditEvent
from tests.mfa.support import PASSWORD, code
from tests.support.browser import browser_page, chromium  # noqa: F401  (chromium: a fixture)
from tests.support.servers import GatewayProcess

pytestmark = pytest.mark.slow


def sign_in(page: object, url: str, otp: str = "") -> None:
    page.goto(f"{url}/admin/login/?next=/admin/")  # type: ignore[attr-defined]
    page.fill("#id_username", "maya")  # type: ignore[attr-defined]
    page.fill("#id_password", PASSWORD)  # type: ignore[attr-defined]
    page.fill("#id_otp_token", otp)  # type: ignore[attr-defined]
    page.click("input[type=submit]")  # type: ignore[attr-defined]


@pytest.mark.usefixtures("transactional_db", "chromium")
def test_an_admin_enrols_an_authenticator_app_and_signs_in_with_its_code(gateway: GatewayProcess) -> None:
    User.objects.create_user("maya", password=PASSWORD, is_staff=True, is_superuser=True)
    with browser_page() as page:
        sign_in(page, gateway.url)
        page.wait_for_url("**/admin/")
        page.goto(f"{gateway.url}/admin/mfa/")
        page.click("#mfa-enrol")
        page.wait_for_url("**/admin/mfa/enrol/")
        assert page.locator("#mfa-qr svg").count() == 1
        key = page.inner_text("#mfa-key").strip()
        secret = base64.b32decode(key + "=" * (-len(key) % 8))
        page.fill("#id_code", code(secret))
        page.click("#mfa-confirm")
        page.wait_for_selector("#mfa-backup-codes")
        codes = page.locator("#mfa-backup-codes li").all_inner_texts()
        page.context.clear_cookies()  # a new session, as another browser would have

        sign_in(page, gateway.url)  # the password alone is not enough any more
        page.wait_for_selector(".errornote")
        assert "authenticator app" in page.inner_text("#content-main")
        sign_in(page, gateway.url, code(secret, steps_ahead=1))  # the next code: the last one is spent
        page.wait_for_url("**/admin/")
        assert "Site administration" in page.content() or "Gateway admin" in page.content()

    assert len(codes) == 10
    actions = list(AuditEvent.objects.filter(kind="access", actor="maya").values_list("action", flat=True))
    assert actions.count("access.signin.succeeded") == 2 and "access.signin.failed" in actions
    assert AuditEvent.objects.filter(action="access.mfa.enrolled", object_type="mfa.totpdevice").count() == 1
