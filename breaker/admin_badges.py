"""Health badges in the admin's service, target and route lists and pages.

A list page reads the health of all its rows at once (``get_changelist_instance``): the targets'
health check results in one query and their breaker states in one Redis read, whatever the number
of rows. The colours are the admin's ``.badge-<state>`` classes (templates/admin/base_site.html).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from breaker import services
from registry.models import Route, Service, Target


def badge(state: str) -> SafeString:
    return format_html('<span class="badge badge-{}">{}</span>', state, state.replace("_", " "))


def services_health(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each service's summary (``breaker.services.service_health``) by id."""
    enabled = Target.objects.filter(enabled=True).order_by("host", "port")
    found = list(
        Service.objects.filter(pk__in=set(ids))
        .select_related("breaker")
        .prefetch_related(Prefetch("targets", queryset=enabled))
    )
    health = services.target_health([t for s in found for t in s.targets.all()])
    return {s.pk: services.service_health(s, health) for s in found}


def service_badge(summary: dict[str, Any] | None) -> SafeString:
    if summary is None:
        return badge("unknown")
    return format_html(
        '{} <small title="targets usable now">{}/{}</small>',
        badge(summary["status"]),
        summary["targets_available"],
        summary["targets_total"],
    )


class _ReadsHealth:
    """Fills each row of a list page with its health before the page renders; its columns come
    second, after the object's name."""

    badges: tuple[str, ...] = ()  # also in list_display, which ``extend`` merges

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = [c for c in super().get_list_display(request) if c not in self.badges]  # type: ignore[misc]
        return (*columns[:1], *self.badges, *columns[1:])

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)  # type: ignore[misc]
        rows = list(changelist.result_list)  # evaluated once: the page renders these very objects
        if rows:
            self.read_health(rows)
        return changelist

    def read_health(self, rows: list[Any]) -> None:
        raise NotImplementedError


class ServiceListHealth(_ReadsHealth):
    badges = list_display = ("health_badge",)

    def read_health(self, rows: list[Any]) -> None:
        found = services_health(r.pk for r in rows)
        for row in rows:
            row.gateway_health = found.get(row.pk)

    @admin.display(description="health")
    def health_badge(self, obj: Service) -> SafeString:
        return service_badge(getattr(obj, "gateway_health", None))


class TargetListHealth(_ReadsHealth):
    badges = list_display = ("health_badge", "breaker_badge")

    def read_health(self, rows: list[Any]) -> None:
        targets = list(Target.objects.filter(pk__in=[r.pk for r in rows]).select_related("service__breaker"))
        found = services.target_health(targets)
        for row in rows:
            row.gateway_health = found.get(row.pk)

    @admin.display(description="health")
    def health_badge(self, obj: Target) -> SafeString:
        entry = getattr(obj, "gateway_health", None)
        return badge(entry["status"] if entry else "unknown")

    @admin.display(description="breaker")
    def breaker_badge(self, obj: Target) -> SafeString:
        entry = getattr(obj, "gateway_health", None)
        return badge(entry["breaker"] if entry else "unknown")


class RouteHealth(_ReadsHealth):
    """The route list and page show the health of the service the route forwards to."""

    badges = list_display = ("service_health_badge",)
    readonly_fields = ("service_health_now",)
    panels = (("Service health", {"fields": ("service_health_now",)}),)

    def read_health(self, rows: list[Any]) -> None:
        found = services_health(r.service_id for r in rows)
        for row in rows:
            row.gateway_health = found.get(row.service_id)

    @admin.display(description="service health")
    def service_health_badge(self, obj: Route) -> SafeString:
        return service_badge(getattr(obj, "gateway_health", None))

    @admin.display(description="now")
    def service_health_now(self, obj: Route) -> SafeString:
        if obj.pk is None or obj.service_id is None:
            return SafeString("-")
        service = Service.objects.select_related("breaker").get(pk=obj.service_id)
        targets = list(service.targets.filter(enabled=True).order_by("host", "port"))
        for target in targets:
            target.service = service
        health = services.target_health(targets)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>health {}</td><td>breaker {}</td></tr>",
            ((t.address, badge(health[t.pk]["status"]), badge(health[t.pk]["breaker"])) for t in targets),
        )
        summary = services.service_health(service, health)
        return format_html("<p>{}: {}</p><table>{}</table>", service.name, service_badge(summary), rows)
