"""Order and clutter on the admin index: the gateway's configuration first, then its features, then
the audit trail and accounts, Celery last; Celery's clocked, crontab and solar schedules (which the
gateway's own periodic tasks never use) only for superusers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from registry.admin import extend

# App labels in the order the index and the sidebar list them; any other app follows, by name.
ORDER = (
    *("registry", "breaker", "ratelimit", "cache", "edge", "realtime", "portal", "revocation"),
    *("compliance", "mfa", "auth"),
)
SUPERUSER_ONLY = ("clockedschedule", "crontabschedule", "solarschedule")


def _rank(app: dict[str, Any]) -> tuple[int, str]:
    label = app["app_label"]
    return (ORDER.index(label) if label in ORDER else len(ORDER), str(app["name"]))


_app_list = admin.site.get_app_list


def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[Any]:
    return sorted(_app_list(request, app_label), key=_rank)


admin.site.get_app_list = get_app_list  # type: ignore[method-assign]


class SuperusersOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_superuser) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_superuser) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_add_permission(request)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)  # type: ignore[misc]


for model in list(admin.site._registry):
    if model._meta.app_label == "django_celery_beat" and model._meta.model_name in SUPERUSER_ONLY:
        extend(model, SuperusersOnly)
