"""Rate policies in the admin: validated attachments, one config change per save, and the
"would have limited" counts of shadow policies per consumer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ratelimit import services
from ratelimit.models import RatePolicy
from registry.admin import ConfigAdmin

SHOWN = 50


class RatePolicyForm(forms.ModelForm):
    class Meta:
        model = RatePolicy
        fields = (
            "name", "description", "enabled", "shadow", "scope", "header_name", "limit", "period", "algorithm",
            "burst", "failure_mode", "all_routes", "routes", "services", "consumers",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        error = services.validate_attachments(
            bool(data.get("all_routes")), data.get("routes"), data.get("services"), data.get("consumers")
        )
        if error:
            raise forms.ValidationError(error, code="unattached")
        return data


@admin.register(RatePolicy)
class RatePolicyAdmin(ConfigAdmin):
    form = RatePolicyForm
    list_display = ("name", "scope", "limit", "period", "algorithm", "failure_mode", "shadow", "enabled", "origin")
    list_filter = ("enabled", "shadow", "scope", "algorithm", "failure_mode")
    search_fields = ("name", "description")
    filter_horizontal = ("routes", "services", "consumers")
    readonly_fields = ("would_have_limited",)
    actions = (*ConfigAdmin.actions, "reset_counters")  # type: ignore[assignment]
    fieldsets = (
        (None, {"fields": ("name", "description", "enabled", "shadow")}),
        ("Limit", {"fields": ("scope", "header_name", "limit", "period", "algorithm", "burst", "failure_mode")}),
        ("Applies to", {"fields": ("all_routes", "routes", "services", "consumers")}),
        ("Shadow mode", {"fields": ("would_have_limited",)}),
    )

    @admin.display(description="set by")
    def origin(self, obj: RatePolicy) -> str:
        return "the environment" if obj.from_environment else "an admin"

    def has_change_permission(self, request: HttpRequest, obj: RatePolicy | None = None) -> bool:
        # A policy from the environment is shown, never edited here: change the variable.
        return not (obj is not None and obj.from_environment) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: RatePolicy | None = None) -> bool:
        return not (obj is not None and obj.from_environment) and super().has_delete_permission(request, obj)

    @admin.display(description="Would have limited (per consumer, last 7 days)")
    def would_have_limited(self, obj: RatePolicy) -> SafeString:
        if obj.pk is None:
            return SafeString("-")
        try:
            counts = services.read_shadow_counts(obj)
        except Exception as exc:  # the page must open while Redis is down
            return format_html("unavailable: {}", type(exc).__name__)
        if not counts:
            return SafeString("none" if obj.shadow else "none (only shadow policies count these)")
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((name, count) for name, count in list(counts.items())[:SHOWN])
        )
        return format_html("<table><tr><th>consumer</th><th>requests</th></tr>{}</table>", rows)

    @admin.action(description="Reset the counters of the selected policies")
    def reset_counters(self, request: HttpRequest, queryset: QuerySet[RatePolicy]) -> None:
        dropped = sum(services.reset_counters(policy) for policy in queryset)
        self.message_user(request, f"Dropped {dropped} counters.", level=messages.SUCCESS)
