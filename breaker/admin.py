"""Health and breakers in the admin: live state on service and target pages, the sweep history, the
breaker log, and two actions (reset a breaker, probe now) that are recorded as admin actions.

The service and target pages are registry's, extended here so registry stays unaware of the breaker.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from breaker import services
from breaker.models import BreakerEvent, HealthCheckResult, TargetHealth
from registry.admin import ServiceAdmin, TargetAdmin
from registry.models import Service, Target

RECENT = 10


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(BreakerEvent)
class BreakerEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "address", "service", "from_state", "to_state", "reason", "process")
    list_filter = ("to_state", "service")
    list_select_related = ("service",)
    search_fields = ("address", "reason")
    date_hierarchy = "at"


@admin.register(HealthCheckResult)
class HealthCheckResultAdmin(ReadOnlyAdmin):
    list_display = ("checked_at", "target", "ok", "status_code", "latency_ms", "error", "forced")
    list_filter = ("ok", "forced", "target__service")
    list_select_related = ("target",)


@admin.register(TargetHealth)
class TargetHealthAdmin(ReadOnlyAdmin):
    list_display = ("target", "status", "checked_at", "latency_ms", "successes", "failures", "changed_at")
    list_filter = ("status",)
    list_select_related = ("target",)


def _live_table(targets: list[Target]) -> SafeString:
    health = services.target_health(targets)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (t.address, health[t.pk]["status"], health[t.pk]["breaker"], health[t.pk]["checked_at"] or "-",
             health[t.pk]["latency_ms"] if health[t.pk]["latency_ms"] is not None else "-")
            for t in targets
        ),
    )  # fmt: skip
    head = "<tr><th>target</th><th>health</th><th>breaker</th><th>last check</th><th>latency ms</th></tr>"
    return format_html("<table>{}{}</table>", SafeString(head), rows)


def _events_table(events: QuerySet[BreakerEvent]) -> SafeString:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} &rarr; {}</td><td>{}</td></tr>",
        ((e.at, e.address, e.from_state, e.to_state, e.reason) for e in events[:RECENT]),
    )
    return format_html("<table>{}</table>", rows) if rows else SafeString("none yet")


def _checks_table(results: QuerySet[HealthCheckResult]) -> SafeString:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (r.checked_at, r.target, "ok" if r.ok else "failed", r.status_code or "-", r.error or r.latency_ms)
            for r in results.select_related("target")[:RECENT]
        ),
    )
    return format_html("<table>{}</table>", rows) if rows else SafeString("none yet")


class HealthActions:
    """Reset breakers and probe now, for the targets an action or page names; both are logged."""

    def _reset(self, request: HttpRequest, targets: list[Target]) -> None:
        for target in targets:
            before = services.reset_breaker(target, request.user.get_username())
            self.log_change(request, target, f"Reset circuit breaker (was {before}).")  # type: ignore[attr-defined]
        self.message_user(request, f"Reset the breakers of {len(targets)} targets.")  # type: ignore[attr-defined]

    def _probe(self, request: HttpRequest, targets: list[Target]) -> None:
        results = services.probe_now(targets)
        by_id = {t.pk: t for t in targets}
        for result in results:
            outcome = "ok" if result.ok else f"failed: {result.error}"
            self.log_change(request, by_id[result.target_id], f"Forced a health probe ({outcome}).")  # type: ignore[attr-defined]
        skipped = len(targets) - len(results)
        level = messages.SUCCESS if all(r.ok for r in results) else messages.WARNING
        failed = sum(not r.ok for r in results)
        text = f"Probed {len(results)} targets, {failed} failed."
        if skipped:
            text += f" {skipped} skipped: their service has no health check path."
        self.message_user(request, text, level=level)  # type: ignore[attr-defined]


admin.site.unregister(Service)
admin.site.unregister(Target)


@admin.register(Service)
class ServiceHealthAdmin(HealthActions, ServiceAdmin):
    actions = (*ServiceAdmin.actions, "reset_breakers", "probe_targets")  # type: ignore[assignment]
    readonly_fields = (*ServiceAdmin.readonly_fields, "live_health", "breaker_log", "sweep_history")  # type: ignore[assignment]
    fieldsets = (  # type: ignore[assignment]
        *ServiceAdmin.fieldsets[:-1],
        (
            "Circuit breaker",
            {
                "fields": (
                    "breaker_enabled",
                    ("breaker_failures", "breaker_failure_ratio", "breaker_min_calls", "breaker_window"),
                    "breaker_failure_statuses",
                    ("breaker_open_seconds", "breaker_max_open_seconds"),
                    ("breaker_half_open_probes", "breaker_half_open_successes"),
                ),
                "description": "Per target; a target may override the failures and the open period.",
            },
        ),
        (
            "Active health checks",
            {
                "fields": (
                    "health_check_path",
                    "health_check_statuses",
                    ("health_check_timeout", "health_check_interval"),
                    ("health_check_healthy_successes", "health_check_unhealthy_failures"),
                ),
                "description": "Probed by the Celery sweep (Periodic tasks: gateway health sweep).",
            },
        ),
        ("Live health", {"fields": ("live_health", "breaker_log", "sweep_history")}),
        ServiceAdmin.fieldsets[-1],
    )

    @admin.display(description="targets now")
    def live_health(self, obj: Service) -> SafeString:
        return _live_table(list(obj.targets.filter(enabled=True))) if obj.pk else SafeString("-")

    @admin.display(description="last breaker changes")
    def breaker_log(self, obj: Service) -> SafeString:
        return _events_table(BreakerEvent.objects.filter(service=obj)) if obj.pk else SafeString("-")

    @admin.display(description="last health checks")
    def sweep_history(self, obj: Service) -> SafeString:
        return _checks_table(HealthCheckResult.objects.filter(target__service=obj)) if obj.pk else SafeString("-")

    @admin.action(description="Reset the circuit breakers of the selected services' targets")
    def reset_breakers(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        self._reset(request, list(Target.objects.filter(service__in=queryset).select_related("service")))

    @admin.action(description="Probe the selected services' targets now")
    def probe_targets(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        self._probe(request, list(Target.objects.filter(service__in=queryset, enabled=True).select_related("service")))


@admin.register(Target)
class TargetHealthPageAdmin(HealthActions, TargetAdmin):
    actions = (*TargetAdmin.actions, "reset_breakers", "probe_targets")  # type: ignore[assignment]
    list_display = (*TargetAdmin.list_display, "health_status")  # type: ignore[assignment]
    readonly_fields = (*TargetAdmin.readonly_fields, "live_health", "breaker_log", "sweep_history")  # type: ignore[assignment]
    fieldsets = (  # type: ignore[assignment]
        *TargetAdmin.fieldsets[:-1],
        ("Circuit breaker overrides", {"fields": ("breaker_failures", "breaker_open_seconds")}),
        ("Live health", {"fields": ("live_health", "breaker_log", "sweep_history")}),
        TargetAdmin.fieldsets[-1],
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Target]:
        return super().get_queryset(request).select_related("health")

    @admin.display(description="health")
    def health_status(self, obj: Target) -> str:
        health: Any = getattr(obj, "health", None)
        return str(health.status) if health is not None else "-"

    @admin.display(description="now")
    def live_health(self, obj: Target) -> SafeString:
        return _live_table([obj]) if obj.pk else SafeString("-")

    @admin.display(description="last breaker changes")
    def breaker_log(self, obj: Target) -> SafeString:
        return _events_table(BreakerEvent.objects.filter(target=obj)) if obj.pk else SafeString("-")

    @admin.display(description="last health checks")
    def sweep_history(self, obj: Target) -> SafeString:
        return _checks_table(HealthCheckResult.objects.filter(target=obj)) if obj.pk else SafeString("-")

    @admin.action(description="Reset the circuit breakers of the selected targets")
    def reset_breakers(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        self._reset(request, list(queryset.select_related("service")))

    @admin.action(description="Probe the selected targets now")
    def probe_targets(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        self._probe(request, list(queryset.select_related("service")))
