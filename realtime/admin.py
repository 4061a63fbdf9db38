"""Channel permissions in the admin, with the live connection counts on their list page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from realtime import counts
from realtime.models import Channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("pattern", "roles", "enabled", "updated_at")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("pattern", "roles", "description")
    readonly_fields = ("created_at", "updated_at")
    change_list_template = "admin/realtime/channel/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        try:
            routes, channels = counts.totals(counts.gather())
            live = {"routes": sorted(routes.items()), "channels": sorted(channels.items()), "error": ""}
        except Exception as exc:  # the counts are informational; the rule list must still open
            live = {"routes": [], "channels": [], "error": f"live counts unavailable: {exc!r}"}
        return super().changelist_view(request, {**(extra_context or {}), "live": live})
