"""Boot-time checks of the rate limiter's settings."""

from __future__ import annotations

from django.test import override_settings

from ratelimit.checks import check_ratelimit

BODY, AUTH, RATE = (
    "proxy.policies.BodyLimitPolicy",
    "proxy.auth.policy.AuthPolicy",
    "ratelimit.policies.RateLimitPolicy",
)


def ids() -> list[str]:
    return [m.id for m in check_ratelimit() if m.id]


def test_the_default_settings_pass() -> None:
    assert ids() == []


@override_settings(GATEWAY_POLICIES=[BODY, AUTH])
def test_a_chain_without_the_rate_limit_step_is_a_warning() -> None:
    assert ids() == ["ratelimit.W001"]


@override_settings(GATEWAY_POLICIES=[BODY, RATE, AUTH])
def test_the_rate_limit_step_before_auth_is_an_error() -> None:
    assert ids() == ["ratelimit.E001"]


@override_settings(GATEWAY_RATELIMIT_REDIS_URL="http://redis.internal:6379")
def test_a_redis_url_that_is_not_redis_is_an_error() -> None:
    assert ids() == ["ratelimit.E002"]


@override_settings(GATEWAY_RATELIMIT_REDIS_TIMEOUT=2.0)
def test_a_timeout_of_seconds_is_a_warning() -> None:
    assert ids() == ["ratelimit.W002"]
