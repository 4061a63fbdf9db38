"""Sign-in attempts per client address: the admin login and the admin API's token endpoint share one
sliding window of ``GATEWAY_LOGIN_RATE_LIMIT`` POSTs per ``GATEWAY_LOGIN_RATE_PERIOD`` seconds.

These are ordinary (sync) Django views, so this uses the sync Redis client and the same Lua script as
the data plane; when Redis cannot answer, it counts in this process (failure mode "local"): a Redis
outage neither locks admins out nor lifts the limit.

An attempt the gateway could not judge is given back: when the sign-in view raises a database error
or answers 503, the attempt is refunded where it was counted (a small Lua script in Redis, the
counter itself in memory), so an outage of the configuration database does not lock people out.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import Error as DatabaseError
from django.http import HttpRequest, HttpResponse

from proxy.errors import problem_response
from proxy.headers import client_address, is_trusted
from proxy.redis_clients import sync_client
from ratelimit.algorithms import SLIDING_WINDOW, Limit, Verdict
from ratelimit.backends import LUA, REFUND_LUA, Check, MemoryBackend
from ratelimit.errors import TooManyRequests

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:rl-login:"
_local = MemoryBackend()
_scripts: tuple[Any, Any] | None = None  # (check, refund) registered on the sync client


@dataclass(frozen=True, slots=True)
class Attempt:
    verdict: Verdict
    check: Check
    shared: bool  # counted in Redis (else in this process)
    at: float  # time.monotonic() when counted


def _client(request: HttpRequest) -> str:
    peer = str(request.META.get("REMOTE_ADDR") or "")
    trusted = settings.GATEWAY_TRUSTED_PROXIES
    if trusted and is_trusted(peer, trusted):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", "")).encode("latin-1", "replace")
        return client_address(peer, forwarded, trusted)
    return peer


def _redis_scripts() -> tuple[Any, Any]:
    global _scripts
    if _scripts is None:
        timeout = max(settings.GATEWAY_RATELIMIT_REDIS_TIMEOUT, 0.5)  # a sign-in may wait a little longer
        client = sync_client(settings.GATEWAY_RATELIMIT_REDIS_URL, timeout=timeout, connect_timeout=timeout)
        _scripts = (client.register_script(LUA), client.register_script(REFUND_LUA))
    return _scripts


def _redis_check(check: Check) -> Verdict:
    limit = check.limit
    args = [1, limit.algorithm, limit.limit, limit.period_us, 0, ""]
    reply = _redis_scripts()[0](keys=[check.key, check.key], args=args)
    return Verdict(bool(reply[0]), int(reply[1]), int(reply[2]), int(reply[3]))


def attempt(request: HttpRequest) -> Attempt | None:
    """Count one sign-in attempt; None when login limiting is off."""
    allowed = settings.GATEWAY_LOGIN_RATE_LIMIT
    if not allowed:
        return None
    key = KEY_PREFIX + _client(request)
    check = Check(key, Limit(SLIDING_WINDOW, allowed, settings.GATEWAY_LOGIN_RATE_PERIOD * 10**6))
    if settings.GATEWAY_RATELIMIT_REDIS_URL:
        try:
            return Attempt(_redis_check(check), check, True, time.monotonic())
        except Exception as exc:
            log.warning("sign-in attempts counted in this process: Redis unavailable (%s)", type(exc).__name__)
    return Attempt(_local.check_now([check])[0], check, False, time.monotonic())


def refund(counted: Attempt) -> None:
    """Give an admitted attempt back where it was counted (best effort: a failure is logged)."""
    if not counted.verdict.admitted:
        return
    age_us = int((time.monotonic() - counted.at) * 1_000_000)
    if not counted.shared:
        _local.refund(counted.check, age_us)
        return
    try:
        _redis_scripts()[1](keys=[counted.check.key], args=[counted.check.limit.period_us, age_us])
    except Exception as exc:
        log.warning("a sign-in attempt could not be given back: Redis unavailable (%s)", type(exc).__name__)


def limit_logins(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a sign-in view: POSTs past the limit get 429 with Retry-After and never reach it; an attempt
    the view could not judge (a database error, a 503) is given back."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        counted = attempt(request) if request.method == "POST" else None
        if counted is None:
            return view(request, *args, **kwargs)
        verdict = counted.verdict
        if not verdict.admitted:
            retry = max(1, math.ceil(verdict.retry_ms / 1000))
            detail = f"Too many sign-in attempts from this address; retry after {retry} s."
            error = TooManyRequests(detail, headers=[(b"retry-after", str(retry).encode())])
            return problem_response(request, error)
        try:
            response = view(request, *args, **kwargs)
        except DatabaseError:
            refund(counted)
            raise
        if response.status_code == 503:
            refund(counted)
        return response

    return wrapped
