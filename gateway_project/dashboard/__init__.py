"""The admin dashboard: the admin's home page (``/admin/``) and ``/admin/overview/``.

It lives in ``gateway_project`` because it shows what several apps know side by side (the data
plane's figures, the breaker's health and breaker states, the audit journal's configuration
changes), and only the project layer may import them all. It reads only what the control plane
already holds, never anything on the request path:

- traffic, error rate and p95: the performance windows every worker keeps in memory and shares
  through the multiprocess directory (``proxy.metrics.windows``), read with ``gather``;
- top routes, rate-limit and cache ratios: the Prometheus series (``proxy.metrics.exposition``);
- health and breaker state: the health check results in the database and breaker state in Redis
  (``breaker.services.target_health``, two queries);
- configuration changes: the newest ``config`` events of the audit chain (one query).

Charts are SVG drawn on the server (``charts.py``); the page swaps in a freshly rendered fragment
every few seconds, so it needs no chart library and nothing from a CDN.
"""
