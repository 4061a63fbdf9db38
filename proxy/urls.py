"""The metrics endpoints (Django views of the data plane's figures); the admin dashboard that shows
them is gateway_project.dashboard."""

from __future__ import annotations

from django.urls import path

from proxy.metrics import overview, views

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("metrics/json", views.metrics_json, name="metrics-json"),
    path("metrics/performance", views.performance, name="metrics-performance"),
    path("metrics/health-score", views.health_score, name="metrics-health-score"),
    path("metrics/overview", overview.overview_data, name="metrics-overview"),
]
