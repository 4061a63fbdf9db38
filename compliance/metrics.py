"""Audit pipeline metrics (exposition is the /metrics endpoint's job)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BUFFER_DEPTH = Gauge(
    "gateway_audit_buffer_depth",
    "Audit records held in this process's memory because the spool had no segment ready for them.",
    multiprocess_mode="livesum",
)
SPOOL_BYTES = Gauge(
    "gateway_audit_spool_bytes",
    "Bytes of audit records in this process's spool not yet accepted by the durable path.",
    multiprocess_mode="livesum",
)
SPOOL_FULL = Gauge(
    "gateway_audit_spool_full",
    "1 while this process's spool is at GATEWAY_AUDIT_SPOOL_MAX_BYTES (PHI routes answer 503).",
    multiprocess_mode="max",
)
DROPPED = Counter(
    "gateway_audit_records_dropped_total",
    "Audit records lost because the spool was full (never for PHI routes).",
)
SPOOL_CORRUPT = Counter(
    "gateway_audit_spool_corrupt_records_total",
    "Torn or corrupt records found in a spool (a machine crash before a sync); never shipped.",
)
BACKLOG = Gauge(
    "gateway_audit_backlog_records",
    "Audit records in the Redis stream not yet written to the chain (set by the audit worker).",
    multiprocess_mode="max",
)
