"""Django's URLs: everything the proxy does not own (see proxy/app.py)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from breaker import views as breaker_views
from proxy import views as proxy_views
from registry import views as registry_views

urlpatterns = [
    path("health", proxy_views.health, name="health"),
    path("health/startup", proxy_views.startup, name="health-startup"),
    path("health/detailed", proxy_views.detailed, name="health-detailed"),
    path("health/services", breaker_views.health_services, name="health-services"),
    path("ready", proxy_views.ready, name="ready"),
    path("api/v1/services", registry_views.service_list, name="service-list"),
    path("api/v1/docs", RedirectView.as_view(url="/admin/api/docs/", permanent=False), name="public-docs"),
    path("admin/api/", include("compliance.api.urls")),
    path("admin/api/", include("registry.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "proxy.views.bad_request"
handler403 = "proxy.views.forbidden"
handler404 = "proxy.views.not_found"
handler500 = "proxy.views.server_error"
