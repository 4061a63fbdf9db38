"""The portal's system checks: a malformed public URL is an error, a missing or misplaced
request-validation step a warning."""

from __future__ import annotations

import pytest
from django.test import override_settings

from portal.checks import check_portal

CHAIN = ["proxy.auth.policy.AuthPolicy", "portal.policies.RequestValidationPolicy"]


def ids(**overrides: object) -> list[str]:
    with override_settings(**({"GATEWAY_PUBLIC_URL": "", "GATEWAY_POLICIES": CHAIN} | overrides)):
        return [str(message.id) for message in check_portal()]


def test_the_defaults_pass() -> None:
    assert ids() == []
    assert ids(GATEWAY_PUBLIC_URL="https://api.example.com/gw") == []


@pytest.mark.parametrize("url", ["api.example.com", "ftp://x", "https://x/?a=1", "https://"])
def test_a_public_url_that_is_not_one_is_an_error(url: str) -> None:
    assert ids(GATEWAY_PUBLIC_URL=url) == ["portal.E001"]


def test_a_trailing_slash_is_an_error() -> None:
    assert ids(GATEWAY_PUBLIC_URL="https://api.example.com/") == ["portal.E002"]


def test_a_missing_or_early_validation_step_is_a_warning() -> None:
    assert ids(GATEWAY_POLICIES=CHAIN[:1]) == ["portal.W001"]
    assert ids(GATEWAY_POLICIES=list(reversed(CHAIN))) == ["portal.W002"]
