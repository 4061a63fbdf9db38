"""The rate limiter's data-plane step: every applicable counter in one call, the tightest answer wins.

A route gets this step only when some enabled policy applies to it. Per request: each policy names its
subject (a fixed one for global/route/service scopes; the consumer, API key, client address or a
header's hash otherwise; a policy whose subject is missing, e.g. the consumer scope on a route
without auth, does not count that request), then one ``Counters.check`` decides them all. When Redis
cannot answer, each policy follows its failure mode: open (no limit, no headers), closed (503) or
local (this process's counters at limit / ``GATEWAY_RATELIMIT_PROCESS_COUNT``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from proxy.exchange import Exchange, Headers, Response
from proxy.pipeline import Handler
from ratelimit.algorithms import Limit, Verdict
from ratelimit.backends import KEY_PREFIX, SHADOW_PREFIX, Check
from ratelimit.compile import PolicySpec, RateLimits
from ratelimit.errors import RateLimitUnavailable, TooManyRequests
from ratelimit.fallback import Counters, get_counters
from ratelimit.metrics import DECISIONS

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot

CLOSED, LOCAL = "closed", "local"


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy as one route applies it, with everything per-request work needs precomputed."""

    spec: PolicySpec
    key_base: str
    fixed: str | None  # the subject of global, route and service scopes
    local_limit: Limit
    shadow_key: str
    label: bytes  # the policy's name as a structured-field string
    items: tuple[bytes, bytes]  # its RateLimit-Policy item: with Redis, and for the local fallback
    counted: dict[str, Any]  # metric children by decision

    def subject(self, exchange: Exchange) -> str | None:
        spec = self.spec
        identity = exchange.identity
        if spec.consumer_ids is not None and (identity is None or identity.consumer_id not in spec.consumer_ids):
            return None
        if self.fixed is not None:
            return self.fixed
        scope = spec.scope
        if scope == "client_ip":
            return "i" + exchange.client_address
        if scope == "consumer":
            if identity is None:
                return None
            if identity.consumer_id:
                return "c" + identity.consumer_id
            return "s" + _digest(identity.subject.encode()) if identity.subject else None
        if scope == "api_key":
            return f"k{identity.key_id}" if identity is not None and identity.key_id else None
        for name, value in exchange.headers:  # the header scope
            if name == spec.header:
                return "h" + _digest(value)
        return "h-"  # no header: one shared counter, so leaving it out evades nothing


def _digest(value: bytes) -> str:
    return hashlib.blake2b(value, digest_size=12).hexdigest()


def _fixed_subject(spec: PolicySpec, route: RouteSpec) -> str | None:
    if spec.scope == "global":
        return "g"
    if spec.scope == "route":
        return f"r{route.id}" if route.id else f"d{route.service.id}"  # dynamic routes: one per service
    if spec.scope == "service":
        return f"s{route.service.id}"
    return None


def rule_for(spec: PolicySpec, route: RouteSpec, processes: int) -> Rule:
    short = "g" if spec.limit.algorithm == "gcra" else "w"
    label = b'"' + spec.name.encode() + b'"'
    local_limit = spec.limit.scaled(processes)
    return Rule(
        spec=spec,
        key_base=f"{KEY_PREFIX}{spec.id}:{short}:",
        fixed=_fixed_subject(spec, route),
        local_limit=local_limit,
        shadow_key=f"{SHADOW_PREFIX}{spec.id}" if spec.shadow else "",
        label=label,
        items=(
            b"%s;q=%d;w=%d" % (label, spec.quota, spec.period),
            b"%s;q=%d;w=%d" % (label, local_limit.limit, spec.period),
        ),
        counted={d: DECISIONS.labels(spec.name, d) for d in ("allowed", "limited", "shadow_limited", "degraded")},
    )


class RateLimitPolicy:
    name = "ratelimit"

    def __init__(self, rules: Sequence[Rule], counters: Counters) -> None:
        self.rules = tuple(rules)
        self.counters = counters
        self.unavailable_retry = str(max(1, math.ceil(counters.retry_seconds))).encode()

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot | None = None) -> RateLimitPolicy | None:
        limits = snapshot.extensions.get("ratelimit") if snapshot is not None else None
        if not isinstance(limits, RateLimits):
            return None
        specs = limits.for_route(route)
        if not specs:
            return None
        processes = settings.GATEWAY_RATELIMIT_PROCESS_COUNT
        return cls([rule_for(s, route, processes) for s in specs], get_counters())

    def explain(self, carrier: Any) -> tuple[str, bool]:
        """For the route simulator (``registry.simulate``): each rule's remaining quota for this
        request's subject, read without counting (``ratelimit.explain``)."""
        from ratelimit.explain import explain

        return explain(self, carrier)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        rules, checks = [], []
        for rule in self.rules:
            subject = rule.subject(exchange)
            if subject is not None:
                rules.append(rule)
                field = ""
                if rule.shadow_key:
                    field = exchange.identity.name if exchange.identity is not None else "(anonymous)"
                checks.append(Check(rule.key_base + subject, rule.spec.limit, rule.shadow_key, field))
        if not checks:
            return await call_next(exchange)
        verdicts = await self.counters.check(checks)
        if verdicts is None:
            return await self._degraded(exchange, call_next, rules, checks)
        headers = _answer(rules, verdicts, record=True)
        response = await call_next(exchange)
        response.headers.extend(headers)
        return response

    async def _degraded(
        self, exchange: Exchange, call_next: Handler, rules: list[Rule], checks: list[Check]
    ) -> Response:
        enforced = [(r, c) for r, c in zip(rules, checks, strict=True) if not r.spec.shadow]
        for rule, _ in enforced:
            rule.counted["degraded"].inc()
        if any(r.spec.failure_mode == CLOSED for r, _ in enforced):
            raise RateLimitUnavailable(
                "Rate limits cannot be checked right now; try again shortly.",
                headers=[(b"retry-after", self.unavailable_retry)],
            )
        local = [(r, c) for r, c in enforced if r.spec.failure_mode == LOCAL]
        if not local:
            return await call_next(exchange)  # open: through, without limit headers
        verdicts = self.counters.local.check_now([Check(c.key, r.local_limit) for r, c in local])
        headers = _answer([r for r, _ in local], verdicts, record=False, local=True)
        response = await call_next(exchange)
        response.headers.extend(headers)
        return response


def _answer(rules: Sequence[Rule], verdicts: Sequence[Verdict], record: bool, local: bool = False) -> Headers:
    """The limit headers for an admitted request; raises ``TooManyRequests`` when an enforced policy refuses."""
    enforced: list[tuple[Rule, Verdict]] = []
    refused: list[tuple[Rule, Verdict]] = []
    for rule, verdict in zip(rules, verdicts, strict=True):
        if rule.spec.shadow:
            continue
        enforced.append((rule, verdict))
        if not verdict.admitted:
            refused.append((rule, verdict))
        if record:
            rule.counted["allowed" if verdict.admitted else "limited"].inc()
    if record and not refused:
        for rule, verdict in zip(rules, verdicts, strict=True):
            if rule.spec.shadow:
                rule.counted["allowed" if verdict.admitted else "shadow_limited"].inc()
    if not enforced:
        return []
    if refused:
        tightest = max(refused, key=lambda rv: rv[1].retry_ms)
    else:
        tightest = min(enforced, key=lambda rv: (rv[1].remaining, -rv[1].reset_ms))
    rule, verdict = tightest
    spec = rule.spec
    quota = rule.local_limit.limit if local else spec.quota
    headers: Headers = [
        (b"ratelimit-policy", b", ".join(r.items[local] for r, _ in enforced)),
        (b"ratelimit", b", ".join(b"%s;r=%d;t=%d" % (r.label, v.remaining, _seconds(v)) for r, v in enforced)),
        (b"x-ratelimit-limit", str(quota).encode()),
        (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
        (b"x-ratelimit-reset", str(_seconds(verdict)).encode()),
    ]
    if refused:
        retry = str(_seconds(verdict)).encode()
        raise TooManyRequests(
            f"Rate limit {spec.name!r} exceeded: {quota} requests per {spec.period} s"
            f"{' (this process, Redis unavailable)' if local else ''}. Retry after {retry.decode()} s.",
            headers=[*headers, (b"retry-after", retry)],
        )
    return headers


def _seconds(verdict: Verdict) -> int:
    """A policy's ``t`` (and X-RateLimit-Reset): seconds until its window ends or its bucket is full,
    or, for a policy that refused, until a request is admitted again, the same instant as Retry-After
    (draft-ietf-httpapi-ratelimit-headers). Never above the period on a refusal (the algorithms')."""
    if verdict.admitted:
        return math.ceil(verdict.reset_ms / 1000)
    return max(1, math.ceil(verdict.retry_ms / 1000))
