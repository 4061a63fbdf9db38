"""The rate limiter's answers: 429 when a policy refuses, 503 when a closed-mode policy cannot count."""

from __future__ import annotations

from proxy.errors import GatewayError


class TooManyRequests(GatewayError):
    status = 429
    reason = "rate_limited"


class RateLimitUnavailable(GatewayError):
    status = 503
    reason = "ratelimit_unavailable"
