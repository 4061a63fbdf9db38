"""Metrics of the data plane: prometheus-client series, the observer that records them, the
multiprocess set-up, the rolling performance windows, the health score, and the Django views that
serve them (``/metrics``, ``/metrics/json``, ``/metrics/performance``, ``/metrics/health-score``).

See docs/observability.md for every series, its labels and its meaning.
"""
