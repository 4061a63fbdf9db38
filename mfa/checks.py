"""Boot checks of the MFA settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

MODES = ("required", "optional", "off")
ORDER = (
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "mfa.middleware.MfaMiddleware",
)


@register()
def check_mfa_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if settings.GATEWAY_ADMIN_MFA not in MODES:
        problems.append(
            Error(
                f"GATEWAY_ADMIN_MFA is {settings.GATEWAY_ADMIN_MFA!r}.",
                hint="Use required, optional or off.",
                id="mfa.E001",
            )
        )
    positions = [settings.MIDDLEWARE.index(m) if m in settings.MIDDLEWARE else -1 for m in ORDER]
    if -1 in positions or positions != sorted(positions):
        problems.append(
            Error(
                "The MFA middleware is missing or out of order: without it a password alone signs in.",
                hint=f"MIDDLEWARE must list {', '.join(ORDER)} in this order.",
                id="mfa.E002",
            )
        )
    production = settings.DATABASE_URL.startswith("postgres") or bool(settings.REDIS_URL)
    if production and settings.GATEWAY_ADMIN_MFA == "off":
        problems.append(
            Warning(
                "GATEWAY_ADMIN_MFA is off in a production setup: admin accounts sign in with a password alone.",
                hint="Use required (superusers and compliance officers must set up a second factor) or optional.",
                id="mfa.W001",
            )
        )
    return problems
