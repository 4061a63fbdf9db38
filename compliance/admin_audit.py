"""The compliance officer's audit search and export in the admin.

Audit events are read-only for everybody (superusers included): no add, change or delete page, no
delete action. "Export results" on the changelist exports exactly the filtered search, as CSV, JSON
Lines or JSON: streamed when small, a Celery job with a download link when large.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from compliance import exports, search, services
from compliance.admin_dates import date_links
from compliance.admin_filters import AUDIT_FILTERS, COUNT_CAP, CappedCountPaginator
from compliance.models import AuditEvent
from registry.admin import ReadOnlyAdmin

EXPORT_PERM = "compliance.export_auditevent"
JOB_PERM = "compliance.add_compliancejob"
FORMAT_LABELS = (("csv", "CSV"), ("jsonl", "JSON Lines"), ("json", "JSON"))


def _pretty(value: Any) -> SafeString:
    if value in ({}, [], None, ""):
        return SafeString("-")
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "kind", "action", "status", "method", "short_path", "route_label", "service_label",
                    "consumer_label", "client_ip", "request_id", "actor", "erased")  # fmt: skip
    list_display_links = ("seq", "at")
    list_filter = AUDIT_FILTERS
    date_hierarchy = "at"
    ordering = ("-seq",)
    sortable_by = ("seq", "at")
    list_per_page = 100
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    search_fields = ("=request_id", "=event_id")  # replaced by compliance.search's "q" below
    search_help_text = "A request id or an event id, exactly."
    actions = None
    readonly_fields = ("changes", "data_pretty", "headers_pretty")
    fieldsets = (
        ("Event", {"fields": (("seq", "at"), ("kind", "action"), ("event_id", "erased"))}),
        ("Request", {"fields": (("request_id", "method", "status"), "path", "query", "headers_pretty",
                                ("route", "service", "target", "phi"),
                                ("latency_ms", "bytes_in", "bytes_out", "error_reason"))}),
        ("Who", {"fields": (("consumer", "consumer_name"), "client_ip", ("actor", "source"))}),
        ("Change", {"fields": (("object_type", "object_id"), "changes", "data_pretty")}),
        ("Chain", {"fields": ("prev_hash", "hash"), "classes": ("collapse",)}),
    )  # fmt: skip

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return search.apply_filter(queryset, "q", search_term), False

    @admin.display(description="path", ordering=None)
    def short_path(self, obj: AuditEvent) -> str:
        return obj.path if len(obj.path) <= 60 else obj.path[:57] + "..."

    @admin.display(description="route")
    def route_label(self, obj: AuditEvent) -> str:
        return obj.route or self._configured(obj, "registry.route", "name")

    @admin.display(description="service")
    def service_label(self, obj: AuditEvent) -> str:
        return obj.service or self._configured(obj, "registry.service", "slug")

    @staticmethod
    def _configured(obj: AuditEvent, object_type: str, field: str) -> str:
        """A configuration event's route or service, by the name it had (after, or before a delete)."""
        if obj.kind != AuditEvent.Kind.CONFIG or obj.object_type != object_type:
            return ""
        values = (obj.data or {}).get("after") or (obj.data or {}).get("before") or {}
        return str(values.get(field, "")) if isinstance(values, dict) else ""

    @admin.display(description="consumer")
    def consumer_label(self, obj: AuditEvent) -> str:
        return obj.consumer_name or obj.consumer

    @admin.display(description="data")
    def data_pretty(self, obj: AuditEvent) -> SafeString:
        return _pretty(obj.data)

    @admin.display(description="headers (redacted)")
    def headers_pretty(self, obj: AuditEvent) -> SafeString:
        return _pretty(obj.headers)

    @admin.display(description="before / after")
    def changes(self, obj: AuditEvent) -> SafeString:
        before, after = obj.data.get("before"), obj.data.get("after")
        if not isinstance(before, dict) and not isinstance(after, dict):
            return SafeString("-")
        before, after = before or {}, after or {}
        keys = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((k, json.dumps(before.get(k)), json.dumps(after.get(k))) for k in keys),
        )  # fmt: skip
        return format_html("<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>", rows)

    # --- Changelist extras and the export ------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "can_export": request.user.has_perm(EXPORT_PERM),
            "can_review_access": request.user.has_perm("compliance.review_access"),
            "can_start_jobs": request.user.has_perm(JOB_PERM) and request.user.has_perm(EXPORT_PERM),
            "count_cap": COUNT_CAP,
            **(extra_context or {}),
        }
        response = super().changelist_view(request, extra)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            context["audit_dates"] = date_links(context["cl"])
        return response

    def get_urls(self) -> list[URLPattern]:
        export = path("export/", self.admin_site.admin_view(self.export_view), name="compliance_auditevent_export")
        review = path(
            "access-review/", self.admin_site.admin_view(self.access_review_view), name="compliance_access_review"
        )
        return [export, review, *super().get_urls()]

    def access_review_view(self, request: HttpRequest) -> HttpResponseBase:
        """Every admin account, its groups, permissions, last sign-in and MFA (``?_format=csv|json``)."""
        from compliance import access_review

        if not request.user.has_perm(access_review.PERMISSION):
            raise PermissionDenied
        fmt = request.GET.get("_format", "csv")
        if fmt not in access_review.FORMATS:
            raise PermissionDenied  # no other format exists; nothing to export
        return access_review.export_response(request.user, fmt, source="admin")

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not request.user.has_perm(EXPORT_PERM):
            raise PermissionDenied
        params = search.clean_params(request.GET.dict())
        query = "?" + request.GET.urlencode() if request.GET else ""
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Export audit events",
            "filters": params,
            "query": query,
            "formats": FORMAT_LABELS,
            "limit": settings.GATEWAY_AUDIT_SYNC_EXPORT_LIMIT,
            "opts": self.opts,
        }
        if request.method != "POST":
            try:
                context["rows"] = search.search_events(params)[: context["limit"] + 1].count()
            except ValidationError as exc:
                context |= {"rows": 0, "error": "; ".join(exc.messages)}
            return TemplateResponse(request, "admin/compliance/auditevent/export.html", context)
        fmt = request.POST.get("_format", "csv")
        try:
            plan = services.start_export(request.user, params, fmt)
        except ValidationError as exc:
            context |= {"rows": 0, "error": "; ".join(exc.messages)}
            return TemplateResponse(request, "admin/compliance/auditevent/export.html", context, status=400)
        if plan.job is not None:
            return accepted(request, plan.job, self.admin_site.each_context(request))
        return stream_export(request, search.search_events(plan.params), fmt)


def stream_export(request: HttpRequest, qs: QuerySet[AuditEvent], fmt: str) -> StreamingHttpResponse:
    content_type, ext = exports.FORMATS[fmt]
    # Under ASGI the body must be an async iterator, or Django reads all of it into memory first.
    body = exports.aexport_chunks(qs, fmt) if isinstance(request, ASGIRequest) else exports.export_chunks(qs, fmt)
    response = StreamingHttpResponse(body, content_type=content_type)
    name = f"audit-events-{timezone.now():%Y%m%d-%H%M%S}.{ext}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def accepted(request: HttpRequest, job: Any, context: dict[str, Any]) -> TemplateResponse:
    """202 Accepted with the job's status page (Location) for a job started in the background."""
    status_url = reverse("admin:compliance_compliancejob_change", args=[job.pk])
    context = {**context, "job": job, "status_url": status_url, "title": "Job accepted"}
    response = TemplateResponse(request, "admin/compliance/compliancejob/accepted.html", context, status=202)
    response["Location"] = status_url
    return response
