"""Health and breakers in the admin: live state on service and target pages, the sweep history, the
breaker log, and two actions (reset a breaker, probe now) that are recorded as admin actions.

The service and target pages are registry's: the settings are sections of them (``breaker.apps``),
and the live panels and actions are added here with ``registry.admin.extend``.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from breaker import services
from breaker.admin_badges import RouteHealth, ServiceListHealth, TargetListHealth, badge
from breaker.models import BreakerEvent, HealthCheckResult, TargetHealth
from registry.admin import ReadOnlyAdmin, extend
from registry.models import Route, Service, Target

RECENT = 10
LIVE = ("Live health", {"fields": ("live_health", "breaker_log", "sweep_history")})


@admin.register(BreakerEvent)
class BreakerEventAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("at", "address", "service", "from_state", "to_state", "reason", "process")
    list_filter = ("to_state", "service")
    list_select_related = ("service",)
    search_fields = ("address", "reason")
    date_hierarchy = "at"


@admin.register(HealthCheckResult)
class HealthCheckResultAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("checked_at", "target", "ok", "status_code", "latency_ms", "error", "forced")
    list_filter = ("ok", "forced", "target__service")
    list_select_related = ("target",)


@admin.register(TargetHealth)
class TargetHealthAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("target", "status", "checked_at", "latency_ms", "successes", "failures", "changed_at")
    list_filter = ("status",)
    list_select_related = ("target",)


def _when(value: datetime | str | None) -> str:
    """One format for every time on these panels (the check results come as ISO 8601 text)."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return date_format(timezone.localtime(moment), "Y-m-d H:i:s")


def _live_table(targets: list[Target]) -> SafeString:
    health = services.target_health(targets)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (t.address, badge(health[t.pk]["status"]), badge(health[t.pk]["breaker"]),
             _when(health[t.pk]["checked_at"]),
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
        ((_when(e.at), e.address, e.from_state, e.to_state, e.reason) for e in events[:RECENT]),
    )
    return format_html("<table>{}</table>", rows) if rows else SafeString("none yet")


def _checks_table(results: QuerySet[HealthCheckResult]) -> SafeString:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (_when(r.checked_at), r.target, "ok" if r.ok else "failed", r.status_code or "-", r.error or r.latency_ms)
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


class ServiceHealthAdmin(HealthActions):
    """Added to the service page: live health, the breaker log, the sweep history, two actions."""

    actions = ("reset_breakers", "probe_targets")
    readonly_fields = ("live_health", "breaker_log", "sweep_history")
    panels = (LIVE,)

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


class TargetHealthPageAdmin(HealthActions):
    """Added to the target page: the same (the list's badges: ``admin_badges``)."""

    actions = ("reset_breakers", "probe_targets")
    readonly_fields = ("live_health", "breaker_log", "sweep_history")
    panels = (LIVE,)

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


extend(Service, ServiceHealthAdmin)
extend(Target, TargetHealthPageAdmin)
extend(Service, ServiceListHealth)
extend(Target, TargetListHealth)
extend(Route, RouteHealth)
