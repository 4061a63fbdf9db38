"""Active health probes: GET (or HEAD) each target's health path concurrently with httpx (control plane).

An https target is verified as the gateway's own upstream client verifies it: with its service's TLS
settings (CA bundle, client certificate, server name; ``proxy.upstream.tls_identity``), so a backend
only a private CA vouches for is not reported down, and one the gateway would refuse is not reported
up. Settings that cannot be loaded fail the probe with the reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from django.utils import timezone

from proxy.client.tls import TLSConfigError, TLSIdentity
from proxy.upstream import tls_contexts


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    target_id: int
    url: str
    timeout: float
    statuses: frozenset[int]
    method: str = "GET"
    tls: TLSIdentity | None = None  # https targets: the service's TLS settings
    server_name: str = ""  # SNI and the name verified, when not the target's host


@dataclass(frozen=True, slots=True)
class ProbeResult:
    target_id: int
    checked_at: datetime
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str


async def probe_all(targets: Sequence[ProbeTarget]) -> list[ProbeResult]:
    if not targets:
        return []
    by_tls: dict[TLSIdentity | None, list[int]] = {}
    for n, target in enumerate(targets):
        by_tls.setdefault(target.tls, []).append(n)
    results: list[ProbeResult | None] = [None] * len(targets)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
    for identity, indexes in by_tls.items():  # one client per set of TLS settings
        try:
            verify: Any = True if identity is None else tls_contexts.context(identity)
        except TLSConfigError as exc:
            for n in indexes:
                results[n] = _failed(targets[n], timezone.now(), f"TLS settings cannot be loaded: {exc}")
            continue
        async with httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False, verify=verify) as client:
            answers = await asyncio.gather(*(_probe(client, targets[n]) for n in indexes))
        for n, answer in zip(indexes, answers, strict=True):
            results[n] = answer
    return [r for r in results if r is not None]


def _failed(target: ProbeTarget, checked_at: datetime, error: str) -> ProbeResult:
    return ProbeResult(target.target_id, checked_at, False, None, None, error[:300])


async def _probe(client: httpx.AsyncClient, target: ProbeTarget) -> ProbeResult:
    started = time.perf_counter()
    checked_at = timezone.now()
    extensions = {"sni_hostname": target.server_name} if target.server_name else None
    try:
        # wait_for bounds the whole probe, including a backend that trickles its answer.
        response = await asyncio.wait_for(
            client.request(
                target.method,
                target.url,
                headers={"User-Agent": "gateway-health-check"},
                timeout=target.timeout,
                extensions=extensions,
            ),
            target.timeout,
        )
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        error = "timed out" if isinstance(exc, TimeoutError | httpx.TimeoutException) else repr(exc)
        return _failed(target, checked_at, error)
    latency = round((time.perf_counter() - started) * 1000, 2)
    ok = response.status_code in target.statuses
    error = "" if ok else f"unexpected status {response.status_code}"
    return ProbeResult(target.target_id, checked_at, ok, response.status_code, latency, error)


def run(targets: Sequence[ProbeTarget]) -> list[ProbeResult]:
    """Probe from synchronous code (the Celery task, an admin action)."""
    return asyncio.run(probe_all(targets))
