"""The data plane's series: plain prometheus-client objects in the default registry.

Labels are bounded: ``service`` (slug) and ``route`` (name) come from the configuration, ``-`` for
requests refused before any route matched; ``status_class`` is ``1xx`` .. ``5xx`` or ``none`` (the
client left before a response); ``kind`` and ``reason`` are the gateway's own fixed vocabularies.
Never a raw path, a key, a consumer or an address.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: from 1 ms to 30 s, dense where a gateway's answers usually are.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The gateway's own share: microseconds to tens of milliseconds.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)

ROUTE_LABELS = ("service", "route")

REQUESTS = Counter(
    "gateway_requests",
    "Requests answered by the data plane (HTTP requests and WebSocket connections).",
    (*ROUTE_LABELS, "status_class"),
)
REQUEST_DURATION = Histogram(
    "gateway_request_duration_seconds",
    "Time from a request's arrival to the end of its response.",
    (*ROUTE_LABELS, "status_class"),
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_DURATION = Histogram(
    "gateway_upstream_duration_seconds",
    "Time from sending a request upstream to the backend's response headers (last attempt).",
    ROUTE_LABELS,
    buckets=LATENCY_BUCKETS,
)
GATEWAY_DURATION = Histogram(
    "gateway_added_duration_seconds",
    "Time the gateway itself added to a request: its duration less the wait for upstream headers.",
    ROUTE_LABELS,
    buckets=OVERHEAD_BUCKETS,
)
REQUEST_BYTES = Counter("gateway_request_bytes", "Request body bytes received from clients.", ROUTE_LABELS)
RESPONSE_BYTES = Counter("gateway_response_bytes", "Response body bytes sent to clients.", ROUTE_LABELS)
UPSTREAM_ERRORS = Counter(
    "gateway_upstream_errors",
    "Failed upstream attempts that ended a request, by kind: connect, tls, busy, timeout, reset, bad_response.",
    (*ROUTE_LABELS, "kind"),
)
AUTH_FAILURES = Counter(
    "gateway_auth_failures",
    "Requests refused by authentication (401) or authorization (403), by the gateway's error reason.",
    (*ROUTE_LABELS, "reason"),
)
RATE_LIMITED = Counter(
    "gateway_ratelimit_rejections",
    "Requests refused with 429 by a rate limit (X-Gateway-Error rate_limited), per route.",
    ROUTE_LABELS,
)
IN_FLIGHT = Gauge(
    "gateway_requests_in_flight",
    "Proxied requests being handled right now (summed over the live worker processes).",
    multiprocess_mode="livesum",
)
UPSTREAM_CONNECTIONS = Counter(
    "gateway_upstream_connections",
    "Upstream connections by use: opened, reused (kept alive), waited (pool at its cap), tls (handshakes).",
    ("service", "use"),
)
