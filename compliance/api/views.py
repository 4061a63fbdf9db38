"""The audit search and export in the admin API (JWT or session), with the admin's filters.

GET /admin/api/audit-events/?<filters>&after=<seq>&limit=<n>   events oldest first, keyset-paged by seq
GET /admin/api/audit-events/export/?<filters>&_format=csv|jsonl|json   streamed, or 202 and a job
GET /admin/api/compliance-jobs/<id>/   a job's status and, when done, its download URL
GET /admin/api/access-review/?_format=json|csv   every admin account: groups, permissions, sign-in, MFA
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import BasePermission, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import exports, search, services
from compliance.admin_audit import EXPORT_PERM, stream_export
from compliance.models import ComplianceJob
from registry.api.pagination import bounded_int

MAX_LIMIT = 1000
MAX_SEQ = 2**63 - 1
# The schema of each filter, as strict as the search is: what it documents is what it accepts.
MOMENT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
FILTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "at_from": MOMENT,
    "at_to": MOMENT,
    "status": {"type": "integer", "minimum": 100, "maximum": 599},
    "status_class": {"type": "string", "enum": list(search.STATUS_CLASSES)},
    "phi": {"type": "boolean"},
    "erased": {"type": "boolean"},
}
FILTER_PARAMS = [
    OpenApiParameter(name, str, description="as in the admin's audit search")
    if name not in FILTER_SCHEMAS
    else OpenApiParameter(name, FILTER_SCHEMAS[name], description="as in the admin's audit search")
    for name in search.FILTERS
]


def needs(perm: str) -> type[BasePermission]:
    class HasPermission(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(request.user and request.user.has_perm(perm))

    return HasPermission


def _filters(request: Request) -> dict[str, str]:
    params = search.clean_params(request.query_params.dict())
    for name in FILTER_SCHEMAS:
        if len(request.query_params.getlist(name)) > 1 or request.query_params.get(name) == "":
            raise ApiValidationError({name: ["Give one value."]})
    for name in ("phi", "erased"):
        if name in request.query_params and request.query_params[name] not in ("true", "false"):
            raise ApiValidationError({name: ["Use true or false."]})
    if "status" in request.query_params:
        bounded_int(request, "status", 0, 100, 599)
    return params


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    return {k: exports._plain(v) for k, v in zip(exports.FIELDS, values, strict=True)}


class AuditEventList(APIView):
    permission_classes = [IsAdminUser, needs("compliance.view_auditevent")]

    @extend_schema(
        parameters=[
            *FILTER_PARAMS,
            OpenApiParameter(
                "after", {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}, description="Events after this seq."
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                description="Events per page (100 by default).",
            ),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        limit = bounded_int(request, "limit", 100, 1, MAX_LIMIT)
        after = bounded_int(request, "after", 0, 0, MAX_SEQ)
        try:
            qs = search.search_events(_filters(request)).filter(seq__gt=after)
        except ValidationError as exc:
            raise ApiValidationError(exc.messages) from None
        rows = [_row(r) for r in qs.values_list(*exports.FIELDS)[: max(limit, 1)]]
        next_url = None
        if len(rows) == limit:
            params = request.query_params.copy()
            params["after"] = str(rows[-1]["seq"])
            next_url = request.build_absolute_uri(request.path + "?" + params.urlencode())
        return Response({"results": rows, "next": next_url})


class AuditEventExport(APIView):
    permission_classes = [IsAdminUser, needs(EXPORT_PERM)]

    @extend_schema(
        parameters=[*FILTER_PARAMS, OpenApiParameter("_format", str, enum=list(exports.FORMATS))],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "application/json"): {"type": "array", "items": {"type": "object"}},
            202: OpenApiTypes.OBJECT,
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        fmt = request.query_params.get("_format", "jsonl")
        try:
            plan = services.start_export(request.user, _filters(request), fmt, source="api")
        except ValidationError as exc:
            raise ApiValidationError(exc.messages) from None
        if plan.job is not None:
            url = reverse("admin-api:compliance-job", args=[plan.job.pk])
            return Response({"job": plan.job.pk, "status": plan.job.status, "url": url}, status=202,
                            headers={"Location": url})  # fmt: skip
        return stream_export(request._request, search.search_events(plan.params), fmt)


class AccessReview(APIView):
    """Every admin account with its groups, permissions, last sign-in and MFA status (recorded)."""

    permission_classes = [IsAdminUser, needs("compliance.review_access")]

    @extend_schema(
        parameters=[OpenApiParameter("_format", str, enum=["csv", "json"])],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponseBase:
        from compliance import access_review

        fmt = request.query_params.get("_format", "json")
        if fmt not in access_review.FORMATS:
            raise ApiValidationError({"_format": ["Use csv or json."]})
        return access_review.export_response(request.user, fmt, source="api")


class ComplianceJobDetail(APIView):
    permission_classes = [IsAdminUser, needs("compliance.view_compliancejob")]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, job_id: int) -> Response:
        job = ComplianceJob.objects.filter(pk=job_id).first()
        if job is None:
            raise NotFound("No such job.")
        ready = services.job_file(job) is not None
        download = reverse("admin:compliance_compliancejob_download", args=[job.pk]) if ready else None
        return Response({"job": job.pk, "kind": job.kind, "status": job.status, "rows": job.rows,
                         "error": job.error, "download": download})  # fmt: skip
