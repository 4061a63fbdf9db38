"""Django's URLs: everything the proxy does not own (see proxy/app.py and proxy/reserved.py).

The project's own paths (health, the public catalogue), then each project app's ``urls.py``, then
one admin API under /admin/api/ made of each app's ``api/urls.py`` (its ``router`` registrations and
``urlpatterns``, one namespace ``admin-api``), then the Django admin. A new app's URLs need no
change here.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.module_loading import module_has_submodule
from rest_framework.routers import DefaultRouter

from gateway_project import catalogue, views
from gateway_project.dashboard import views as dashboard


def _project_modules(name: str) -> Iterator[ModuleType]:
    """``<app>.<name>`` of every project app (a folder beside manage.py) that has one, in
    INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        if Path(config.path).parent == settings.BASE_DIR and module_has_submodule(config.module, name):
            yield import_module(f"{config.name}.{name}")


def _admin_api() -> list[Any]:
    router = DefaultRouter()
    extra: list[Any] = []
    for module in _project_modules("api.urls"):
        if hasattr(module, "router"):
            router.registry.extend(module.router.registry)
        extra += module.urlpatterns
    return [*extra, *router.urls]


urlpatterns = [
    path("health", views.health, name="health"),
    path("health/startup", views.startup, name="health-startup"),
    path("health/detailed", views.detailed, name="health-detailed"),
    path("ready", views.ready, name="ready"),
    path("api/v1/services", catalogue.service_list, name="service-list"),
    # The admin's home is the dashboard (the admin's own index, with the dashboard above it).
    path("admin/", admin.site.admin_view(dashboard.index), name="gateway-dashboard"),
    path("admin/overview/", dashboard.page, name="gateway-overview"),
    path("admin/overview/live", dashboard.live, name="gateway-dashboard-live"),
    *(pattern for module in _project_modules("urls") for pattern in module.urlpatterns),
    path("admin/api/", include((_admin_api(), "admin-api"))),
    # Anything else under /admin/api/ is an API 404 (problem+json), never the admin's login page.
    re_path(r"^admin/api/", views.not_found),
    path("admin/", admin.site.urls),
]

handler400 = "gateway_project.views.bad_request"
handler403 = "gateway_project.views.forbidden"
handler404 = "gateway_project.views.not_found"
handler500 = "gateway_project.views.server_error"
