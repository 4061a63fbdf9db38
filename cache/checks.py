"""System checks for the response cache's settings (``manage.py check``, and at every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from proxy.redis_urls import scheme_problem

POLICY = "cache.policies.CachePolicy"
BEFORE = ("proxy.auth.policy.AuthPolicy", "ratelimit.policies.RateLimitPolicy")


@register()
def check_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    chain = list(settings.GATEWAY_POLICIES)
    if POLICY not in chain:
        messages.append(
            Warning(
                "GATEWAY_POLICIES has no cache step: routes' response cache settings are not applied.",
                hint=f"Add {POLICY} at the end of GATEWAY_POLICIES.",
                id="cache.W001",
            )
        )
    else:
        late = [p for p in BEFORE if p in chain and chain.index(p) > chain.index(POLICY)]
        if late:
            messages.append(
                Error(
                    f"{POLICY} comes before {', '.join(late)} in GATEWAY_POLICIES: cached answers would skip "
                    "authentication or rate limits, and per-consumer entries would not know the consumer.",
                    hint="List the cache step after them (last, by default).",
                    id="cache.E001",
                )
            )
    problem = scheme_problem("GATEWAY_CACHE_REDIS_URL", settings.GATEWAY_CACHE_REDIS_URL)
    if problem:
        messages.append(Error(problem, id="cache.E002"))
    if settings.GATEWAY_CACHE_REDIS_TIMEOUT > 1.0:
        messages.append(
            Warning(
                f"GATEWAY_CACHE_REDIS_TIMEOUT is {settings.GATEWAY_CACHE_REDIS_TIMEOUT} s: a slow Redis holds every "
                "request of a cached route that long before it is answered from the backend.",
                hint="A few tens of milliseconds is usual (default 0.05).",
                id="cache.W002",
            )
        )
    if settings.GATEWAY_CACHE_LOCK_SECONDS < settings.GATEWAY_CACHE_WAIT_SECONDS:
        messages.append(
            Warning(
                "GATEWAY_CACHE_LOCK_SECONDS is shorter than GATEWAY_CACHE_WAIT_SECONDS: a slow fill's lock expires "
                "while others still wait, and a second request reaches the backend.",
                id="cache.W003",
            )
        )
    return messages
