"""Django's URLs: everything the proxy does not own (see proxy/app.py)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from breaker import views as breaker_views
from proxy import views as proxy_views
from proxy.metrics import overview as metrics_overview
from proxy.metrics import views as metrics_views
from ratelimit.login import limit_logins
from realtime import views as realtime_views
from registry import views as registry_views
from registry.api.views import StaffTokenObtainPairView

urlpatterns = [
    path("health", proxy_views.health, name="health"),
    path("health/startup", proxy_views.startup, name="health-startup"),
    path("health/detailed", proxy_views.detailed, name="health-detailed"),
    path("health/services", breaker_views.health_services, name="health-services"),
    path("ready", proxy_views.ready, name="ready"),
    path("api/v1/services", registry_views.service_list, name="service-list"),
    path("api/v1/docs", RedirectView.as_view(url="/admin/api/docs/", permanent=False), name="public-docs"),
    path("realtime/publish", realtime_views.publish, name="realtime-publish"),
    path("admin/realtime/live/", realtime_views.live_connections, name="realtime-live"),
    # Sign-ins are rate limited per client address (ratelimit/login.py), ahead of the views they wrap.
    path("admin/api/token/", limit_logins(StaffTokenObtainPairView.as_view()), name="limited-token"),
    path("admin/login/", limit_logins(admin.site.login), name="limited-login"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("metrics/json", metrics_views.metrics_json, name="metrics-json"),
    path("metrics/performance", metrics_views.performance, name="metrics-performance"),
    path("metrics/health-score", metrics_views.health_score, name="metrics-health-score"),
    path("metrics/overview", metrics_overview.overview_data, name="metrics-overview"),
    path("admin/overview/", metrics_overview.overview_page, name="gateway-overview"),
    path("admin/api/", include("compliance.api.urls")),
    path("admin/api/", include("registry.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "proxy.views.bad_request"
handler403 = "proxy.views.forbidden"
handler404 = "proxy.views.not_found"
handler500 = "proxy.views.server_error"
