"""The config watcher's series (registry/watch.py): the version each process serves, and rebuilds."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

VERSION_SERVED = Gauge(
    "gateway_config_version_served",
    "The config version whose routing table this process serves (one series per live worker).",
    multiprocess_mode="liveall",
)
REBUILDS = Counter("gateway_config_rebuilds", "Routing tables built and swapped in.")
REBUILD_FAILURES = Counter(
    "gateway_config_rebuild_failures",
    "Failed config version reads or table rebuilds; the previous table kept serving.",
)
