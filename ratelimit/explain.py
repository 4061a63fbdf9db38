"""What the rate limiter would tell a request, for the route simulator: each rule's remaining quota
for the request's subject ("3 of 5 left, resets in 40 s"), read without counting (``ratelimit.peek``).
When Redis does not answer, each rule's failure mode says what the gateway would do."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ratelimit.backends import Check, MemoryBackend, RedisBackend
from ratelimit.peek import Unreachable, left, peek

if TYPE_CHECKING:
    from ratelimit.policies import RateLimitPolicy, Rule

FAILURE = {"closed": "503 ratelimit_unavailable", "local": "this process's own counters", "open": "no limit"}


def explain(policy: RateLimitPolicy, carrier: Any) -> tuple[str, bool]:
    rules = [(rule, rule.subject(carrier)) for rule in policy.rules]
    counted = [(rule, subject) for rule, subject in rules if subject is not None]
    parts = [f"{r.spec.name}: does not count this request ({whom(r, carrier)})" for r, s in rules if s is None]
    if not counted:
        return "; ".join(parts), False
    primary = policy.counters.primary
    url = primary.url if isinstance(primary, RedisBackend) else ""
    memory = primary if isinstance(primary, MemoryBackend) else policy.counters.local
    try:
        verdicts = peek([Check(r.key_base + s, r.spec.limit) for r, s in counted], url, memory)
    except Unreachable as exc:
        return _unreachable([r for r, _ in counted], str(exc), parts)
    refused = ""
    for (rule, _), verdict in zip(counted, verdicts, strict=True):
        spec = rule.spec
        line = f"{spec.name} ({whom(rule, carrier)}): {left(verdict)} of {spec.quota} left"
        if verdict.admitted:
            line += f", resets in {_seconds(verdict.reset_ms)} s"
        else:
            line += f", next admitted in {max(1, _seconds(verdict.retry_ms))} s"
            if spec.shadow:
                line += " (shadow: let through, noted as would-have-limited)"
            elif not refused:
                refused = f"429 rate_limited: {spec.name!r} allows {spec.quota} per {spec.period} s"
        parts.append(line)
    text = "; ".join(parts) + " (read without counting)"
    return (f"{refused}. {text}", True) if refused else (text, False)


def whom(rule: Rule, carrier: Any) -> str:
    """The subject a rule counts this request under, in words."""
    spec = rule.spec
    identity = carrier.identity
    if spec.consumer_ids is not None and (identity is None or identity.consumer_id not in spec.consumer_ids):
        return "not a listed consumer"
    scope = spec.scope
    if scope in ("global", "route", "service"):
        return {"global": "everyone", "route": "this route", "service": "this service"}[scope]
    if scope == "client_ip":
        return f"client {carrier.client_address}"
    if scope == "consumer":
        return f"consumer {identity.name or identity.subject}" if identity is not None else "anonymous: no consumer"
    if scope == "api_key":
        return f"API key {identity.key_id}" if identity is not None and identity.key_id else "no API key"
    return f"header {spec.header.decode('latin-1')}"


def _unreachable(rules: Sequence[Rule], why: str, parts: list[str]) -> tuple[str, bool]:
    enforced = [r for r in rules if not r.spec.shadow]
    parts = parts + [
        f"{r.spec.name}: if Redis fails, {r.spec.failure_mode} ({FAILURE.get(r.spec.failure_mode, '?')})"
        for r in enforced
    ]
    text = f"Redis did not answer the simulator ({why}); remaining quota unknown. " + "; ".join(parts)
    if any(r.spec.failure_mode == "closed" for r in enforced):
        return f"503 ratelimit_unavailable, if the gateway cannot reach Redis either. {text}", True
    return text, False


def _seconds(ms: int) -> int:
    return math.ceil(ms / 1000)
