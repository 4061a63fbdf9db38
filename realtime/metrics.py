"""Prometheus metrics of WebSocket connections (exposition is the metrics app's job)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# Label ``route`` is a route name, or "ws" for the channel fan-out endpoint: bounded by configuration.
CONNECTIONS = Gauge(
    "gateway_websocket_connections",
    "Open WebSocket connections, by route.",
    ["route"],
    multiprocess_mode="livesum",
)
MESSAGES = Counter(
    "gateway_websocket_messages_total",
    "WebSocket messages relayed, by route and direction (in: from clients, out: to clients).",
    ["route", "direction"],
)
