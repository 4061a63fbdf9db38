"""The admin overview's "Cache hit ratio" column (``proxy.metrics.sources.add_overview_column``): per
service, the share of its cached routes' lookups answered from the cache (hits, stale and
revalidated answers) since the workers started, summed over every worker. Bypasses do not count."""

from __future__ import annotations

from cache.answers import BYPASS, SERVED_FROM_CACHE
from proxy.metrics import exposition
from proxy.metrics.sources import OverviewColumn

SERIES = "gateway_cache_responses"


def hit_ratios() -> dict[str, str]:
    served: dict[str, float] = {}
    looked_up: dict[str, float] = {}
    for metric in exposition.registry().collect():
        if metric.name != SERIES:
            continue
        for sample in metric.samples:
            if not sample.name.endswith("_total") or sample.labels.get("status") == BYPASS:
                continue
            service = sample.labels.get("service", "")
            looked_up[service] = looked_up.get(service, 0.0) + sample.value
            if sample.labels.get("status") in SERVED_FROM_CACHE:
                served[service] = served.get(service, 0.0) + sample.value
    return {s: f"{100 * served.get(s, 0.0) / total:.1f} %" for s, total in looked_up.items() if total}


hit_ratio_column = OverviewColumn("Cache hit ratio", hit_ratios)
