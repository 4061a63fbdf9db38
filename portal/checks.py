"""System checks for the portal's settings (``manage.py check``, and at every start)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

POLICY = "portal.policies.RequestValidationPolicy"
AUTH = "proxy.auth.policy.AuthPolicy"


@register()
def check_portal(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    url = settings.GATEWAY_PUBLIC_URL
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            messages.append(
                Error(
                    f"GATEWAY_PUBLIC_URL must be an http:// or https:// URL without query or fragment, got {url!r}.",
                    hint="The URL callers reach the gateway at, e.g. https://api.example.com.",
                    id="portal.E001",
                )
            )
        elif url.endswith("/"):
            messages.append(Error("GATEWAY_PUBLIC_URL must not end with '/'.", id="portal.E002"))
    chain = list(settings.GATEWAY_POLICIES)
    if POLICY not in chain:
        messages.append(
            Warning(
                "GATEWAY_POLICIES has no request-validation step: routes that validate requests answer without it.",
                hint=f"Add {POLICY} at the end (after {AUTH}).",
                id="portal.W001",
            )
        )
    elif AUTH in chain and chain.index(POLICY) < chain.index(AUTH):
        messages.append(
            Warning(
                f"{POLICY} comes before {AUTH}: callers without credentials learn how the API document is shaped.",
                hint="List the request-validation step after the auth step.",
                id="portal.W002",
            )
        )
    return messages
