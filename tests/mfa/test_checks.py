"""Boot checks of the MFA settings: a known mode, the middleware in place, a warning when off in production."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from mfa.checks import check_mfa_settings


def ids() -> set[str]:
    return {problem.id for problem in check_mfa_settings(None)}


def test_the_test_settings_pass() -> None:
    assert ids() == set()


@override_settings(GATEWAY_ADMIN_MFA="sometimes")
def test_an_unknown_mode_is_an_error() -> None:
    assert "mfa.E001" in ids()


def test_the_middleware_must_be_there_in_order() -> None:
    without = [m for m in settings.MIDDLEWARE if m != "mfa.middleware.MfaMiddleware"]
    with override_settings(MIDDLEWARE=without):
        assert "mfa.E002" in ids()
    swapped = list(reversed(settings.MIDDLEWARE))
    with override_settings(MIDDLEWARE=swapped):
        assert "mfa.E002" in ids()


@override_settings(GATEWAY_ADMIN_MFA="off", DATABASE_URL="postgres://db/gw", REDIS_URL="")
def test_off_in_production_warns() -> None:
    assert "mfa.W001" in ids()
