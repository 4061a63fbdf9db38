"""Sign-in attempts per client address: the admin login and the admin API's token endpoint share one
sliding window of ``GATEWAY_LOGIN_RATE_LIMIT`` POSTs per ``GATEWAY_LOGIN_RATE_PERIOD`` seconds.

These are ordinary (sync) Django views, so this uses the sync Redis client and the same Lua script as
the data plane; when Redis cannot answer, it counts in this process (failure mode "local"): a Redis
outage neither locks admins out nor lifts the limit.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from proxy.errors import problem_response
from proxy.headers import client_address, is_trusted
from proxy.redis_clients import sync_client
from ratelimit.algorithms import SLIDING_WINDOW, Limit, Verdict
from ratelimit.backends import LUA, Check, MemoryBackend
from ratelimit.errors import TooManyRequests

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:rl-login:"
_local = MemoryBackend()
_script: Any = None


def _client(request: HttpRequest) -> str:
    peer = str(request.META.get("REMOTE_ADDR") or "")
    trusted = settings.GATEWAY_TRUSTED_PROXIES
    if trusted and is_trusted(peer, trusted):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", "")).encode("latin-1", "replace")
        return client_address(peer, forwarded, trusted)
    return peer


def _redis_check(check: Check) -> Verdict:
    global _script
    if _script is None:
        timeout = max(settings.GATEWAY_RATELIMIT_REDIS_TIMEOUT, 0.5)  # a sign-in may wait a little longer
        client = sync_client(settings.GATEWAY_RATELIMIT_REDIS_URL, timeout=timeout, connect_timeout=timeout)
        _script = client.register_script(LUA)
    limit = check.limit
    reply = _script(keys=[check.key, check.key], args=[1, limit.algorithm, limit.limit, limit.period_us, 0, ""])
    return Verdict(bool(reply[0]), int(reply[1]), int(reply[2]), int(reply[3]))


def attempt(request: HttpRequest) -> Verdict | None:
    """Count one sign-in attempt; None when login limiting is off."""
    allowed = settings.GATEWAY_LOGIN_RATE_LIMIT
    if not allowed:
        return None
    check = Check(
        KEY_PREFIX + _client(request), Limit(SLIDING_WINDOW, allowed, settings.GATEWAY_LOGIN_RATE_PERIOD * 10**6)
    )
    if settings.GATEWAY_RATELIMIT_REDIS_URL:
        try:
            return _redis_check(check)
        except Exception as exc:
            log.warning("sign-in attempts counted in this process: Redis unavailable (%s)", type(exc).__name__)
    return _local.check_now([check])[0]


def limit_logins(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a sign-in view: POSTs past the limit get 429 with Retry-After and never reach it."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            verdict = attempt(request)
            if verdict is not None and not verdict.admitted:
                retry = max(1, math.ceil(verdict.retry_ms / 1000))
                detail = f"Too many sign-in attempts from this address; retry after {retry} s."
                error = TooManyRequests(detail, headers=[(b"retry-after", str(retry).encode())])
                return problem_response(request, error)
        return view(request, *args, **kwargs)

    return wrapped
