"""The registry's pages outside the Django admin's own URLs: the route simulator."""

from __future__ import annotations

from django.urls import URLPattern, path

from registry import simulator_views

urlpatterns: list[URLPattern] = [
    path("admin/simulator/", simulator_views.view, name="gateway-simulator"),
]
