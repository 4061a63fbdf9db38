"""The upstream client's connection counts reach Prometheus as deltas, by service."""

from __future__ import annotations

from prometheus_client import REGISTRY

from proxy.client.pool import PoolStats
from proxy.metrics.wiring import sync_connection_counts
from proxy.upstream import service_stats


def _value(service: str, use: str) -> float:
    return REGISTRY.get_sample_value("gateway_upstream_connections_total", {"service": service, "use": use}) or 0.0


def test_opened_reused_waited_and_tls_counts_are_added_once() -> None:
    stats = service_stats.setdefault("counted-service", PoolStats())
    before = {use: _value("counted-service", use) for use in ("opened", "reused", "waited", "tls")}
    stats.opened += 2
    stats.reused += 5
    stats.waits += 1
    stats.tls_handshakes += 2
    sync_connection_counts()
    sync_connection_counts()  # nothing new: nothing added
    after = {use: _value("counted-service", use) - before[use] for use in before}
    assert after == {"opened": 2, "reused": 5, "waited": 1, "tls": 2}
