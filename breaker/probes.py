"""Active health probes: GET (or HEAD) each target's health path concurrently with httpx (control plane)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from django.utils import timezone


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    target_id: int
    url: str
    timeout: float
    statuses: frozenset[int]
    method: str = "GET"


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
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False) as client:
        return list(await asyncio.gather(*(_probe(client, t) for t in targets)))


async def _probe(client: httpx.AsyncClient, target: ProbeTarget) -> ProbeResult:
    started = time.perf_counter()
    checked_at = timezone.now()
    try:
        # wait_for bounds the whole probe, including a backend that trickles its answer.
        response = await asyncio.wait_for(
            client.request(
                target.method, target.url, headers={"User-Agent": "gateway-health-check"}, timeout=target.timeout
            ),
            target.timeout,
        )
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        error = "timed out" if isinstance(exc, TimeoutError | httpx.TimeoutException) else repr(exc)
        return ProbeResult(target.target_id, checked_at, False, None, None, error[:300])
    latency = round((time.perf_counter() - started) * 1000, 2)
    ok = response.status_code in target.statuses
    error = "" if ok else f"unexpected status {response.status_code}"
    return ProbeResult(target.target_id, checked_at, ok, response.status_code, latency, error)


def run(targets: Sequence[ProbeTarget]) -> list[ProbeResult]:
    """Probe from synchronous code (the Celery task, an admin action)."""
    return asyncio.run(probe_all(targets))
