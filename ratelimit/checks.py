"""System checks for the rate limiter's settings (``manage.py check``, and at every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from proxy.redis_urls import scheme_problem

POLICY = "ratelimit.policies.RateLimitPolicy"
AUTH = "proxy.auth.policy.AuthPolicy"


@register()
def check_ratelimit(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    chain = list(settings.GATEWAY_POLICIES)
    if POLICY not in chain:
        messages.append(
            Warning(
                "GATEWAY_POLICIES has no rate-limit step: rate policies saved in the admin are not enforced.",
                hint=f"Add {POLICY} right after {AUTH}.",
                id="ratelimit.W001",
            )
        )
    elif AUTH in chain and chain.index(POLICY) < chain.index(AUTH):
        messages.append(
            Error(
                f"{POLICY} comes before {AUTH} in GATEWAY_POLICIES, so per-consumer and per-key limits never see "
                "who is calling.",
                hint="List the rate-limit step after the auth step.",
                id="ratelimit.E001",
            )
        )
    problem = scheme_problem("GATEWAY_RATELIMIT_REDIS_URL", settings.GATEWAY_RATELIMIT_REDIS_URL)
    if problem:
        messages.append(Error(problem, id="ratelimit.E002"))
    if settings.GATEWAY_RATELIMIT_REDIS_TIMEOUT > 1.0:
        messages.append(
            Warning(
                f"GATEWAY_RATELIMIT_REDIS_TIMEOUT is {settings.GATEWAY_RATELIMIT_REDIS_TIMEOUT} s: a slow Redis holds "
                "every rate-limited request that long before the failure mode applies.",
                hint="A few tens of milliseconds is usual (default 0.05).",
                id="ratelimit.W002",
            )
        )
    return messages
