"""What ``/metrics`` and ``/metrics/json`` expose: every worker's series (multiprocess files, or this
process's registry), plus the scrape-time collectors of the feature apps."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from proxy.metrics import multiproc, sources

log = logging.getLogger(__name__)


class _Forward(Collector):
    def __init__(self, collectors: Iterable[Any]) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            try:
                yield from list(collector.collect())
            except Exception as exc:  # a store being down must not take /metrics with it
                log.warning("metrics collector %s failed: %r", type(collector).__name__, exc)


def registry() -> CollectorRegistry:
    from django.conf import settings

    if settings.GATEWAY_METRICS:
        from proxy.metrics.wiring import sync_connection_counts

        sync_connection_counts()  # this process's latest upstream connection counts
    merged = CollectorRegistry()
    if multiproc.enabled():
        from prometheus_client import multiprocess

        multiproc.forget_dead_processes()
        multiprocess.MultiProcessCollector(merged)
    else:
        merged.register(_Forward([REGISTRY]))
    merged.register(_Forward(sources.collectors))
    return merged


def text() -> bytes:
    return generate_latest(registry())


def as_json() -> dict[str, Any]:
    families: dict[str, Any] = {}
    for metric in registry().collect():
        family = families.setdefault(metric.name, {"type": metric.type, "help": metric.documentation, "samples": []})
        for sample in metric.samples:
            value = sample.value
            families[metric.name]["samples"].append(
                {
                    "name": sample.name,
                    "labels": dict(sample.labels),
                    "value": value if math.isfinite(value) else str(value),
                }
            )
        del family
    return families
