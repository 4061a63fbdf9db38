"""The metrics endpoints and the admin's overview page (Django views of the data plane's figures)."""

from __future__ import annotations

from django.urls import path

from proxy.metrics import overview, views

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("metrics/json", views.metrics_json, name="metrics-json"),
    path("metrics/performance", views.performance, name="metrics-performance"),
    path("metrics/health-score", views.health_score, name="metrics-health-score"),
    path("metrics/overview", overview.overview_data, name="metrics-overview"),
    path("admin/overview/", overview.overview_page, name="gateway-overview"),
]
