"""The bare increments of ``proxy.metrics.hot`` leave the very samples the public ``inc`` and
``observe`` leave (bucket edges included), and fall back to those methods on an unexpected child."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import CollectorRegistry, Counter, Histogram

from proxy.metrics.hot import incrementer, observer
from proxy.metrics.series import LATENCY_BUCKETS, OVERHEAD_BUCKETS

AMOUNTS = [0.0, 0.0001, 0.00025, 0.0003, 0.001, 0.0010001, 0.07, 0.5, 2.5, 29.9, 30.0, 31.0, 1e9]


def _samples(registry: CollectorRegistry) -> list[tuple[str, str, float]]:
    return sorted(
        (s.name, repr(sorted(s.labels.items())), s.value)
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    )


def test_it_observes_into_the_same_buckets_as_observe() -> None:
    for buckets in (LATENCY_BUCKETS, OVERHEAD_BUCKETS):
        public, bare = CollectorRegistry(), CollectorRegistry()
        a = Histogram("h", "h", ("route",), buckets=buckets, registry=public).labels("r")
        b = Histogram("h", "h", ("route",), buckets=buckets, registry=bare).labels("r")
        observe = observer(b)
        assert observe != b.observe  # the bare path, not the fallback
        for amount in AMOUNTS:
            a.observe(amount)
            observe(amount)
        assert _samples(public) == _samples(bare)
        cumulative = [value for name, _, value in _samples(bare) if name == "h_bucket"]
        assert len(set(cumulative)) > 3 and max(cumulative) == len(AMOUNTS)  # amounts spread over the buckets


def test_it_counts_as_inc_does() -> None:
    public, bare = CollectorRegistry(), CollectorRegistry()
    a = Counter("c", "c", ("route",), registry=public).labels("r")
    b = Counter("c", "c", ("route",), registry=bare).labels("r")
    inc = incrementer(b)
    for amount in (1, 1, 512, 0.5):
        a.inc(amount)
        inc(amount)
    assert _samples(public) == _samples(bare)
    assert ("c_total", repr([("route", "r")]), 514.5) in _samples(bare)


def test_it_falls_back_to_the_public_methods_on_another_kind_of_child() -> None:
    seen: list[float] = []
    child = SimpleNamespace(observe=seen.append, inc=seen.append)
    observer(child)(0.25)
    incrementer(child)(3)
    assert seen == [0.25, 3]
