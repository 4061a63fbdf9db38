"""Audit pipeline metrics (exposition is the /metrics endpoint's job)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BUFFER_DEPTH = Gauge(
    "gateway_audit_buffer_depth",
    "Audit records held in this process's memory, not yet sent to the durable path.",
    multiprocess_mode="livesum",
)
DROPPED = Counter(
    "gateway_audit_records_dropped_total",
    "Audit records dropped because the in-memory buffer was full (never for PHI routes).",
)
BACKLOG = Gauge(
    "gateway_audit_backlog_records",
    "Audit records in the Redis stream not yet written to the chain (set by the audit worker).",
    multiprocess_mode="max",
)
