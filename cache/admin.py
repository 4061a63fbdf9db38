"""The response cache in the admin: a purge action on routes, and the purge log, where "Add" purges
by route, path prefix or tag. The settings themselves are a section of the route page
(``cache.apps``). Every purge is recorded in the audit chain (``cache.services``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from cache import services
from cache.models import CachePurge
from registry.admin import extend
from registry.models import Route


class RoutePurgeActions:
    actions = ("purge_cache",)

    @admin.action(description="Purge the response cache of the selected routes")
    def purge_cache(self, request: HttpRequest, queryset: QuerySet[Route]) -> None:
        try:
            done = services.purge_routes(list(queryset))
        except services.PurgeFailed as exc:
            self.message_user(request, f"Nothing purged: {exc}", level=messages.ERROR)  # type: ignore[attr-defined]
            return
        removed = sum(p.removed or 0 for p in done)
        shared = any(p.removed is not None for p in done)
        counted = f", {removed} entries removed" if shared else " (each gateway process drops them within a second)"
        self.message_user(request, f"Purged the cache of {len(done)} routes{counted}.")  # type: ignore[attr-defined]


@admin.register(CachePurge)
class CachePurgeAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "route_name", "prefix", "tag", "reason", "removed")
    list_filter = ("kind", "reason")
    search_fields = ("route_name", "prefix", "tag")
    date_hierarchy = "at"
    fields = ("kind", "route", "prefix", "tag")
    autocomplete_fields = ("route",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record of what was done

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CachePurge, form: Any, change: bool) -> None:
        try:
            done = services.purge(obj.kind, route=obj.route, prefix=obj.prefix, tag=obj.tag)
        except services.PurgeFailed as exc:
            self.message_user(request, f"Nothing purged: {exc}", level=messages.ERROR)
            return
        obj.pk = done.pk
        if done.removed is not None:
            self.message_user(request, f"{done.removed} entries removed.")

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if obj.pk is None:
            return None  # the purge failed: nothing to log
        return super().log_addition(request, obj, message)


extend(Route, RoutePurgeActions)
