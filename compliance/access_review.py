"""The access review: every admin account (staff or superuser) with its groups, effective
permissions, last sign-in and second-factor status, as CSV or JSON, for the periodic review SOC 2
CC6.2/CC6.3 and HIPAA §164.308(a)(4) ask for. Each export is itself a chain event
(``compliance.access_review.exported``). The second factors are read through django-otp, whatever
app provides them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone
from django_otp import devices_for_user

from compliance.exports import _csv_cell
from compliance.services import record_compliance_event

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
COLUMNS = ("username", "full_name", "email", "active", "staff", "superuser", "groups", "permissions",
           "last_sign_in", "joined", "mfa", "mfa_methods")  # fmt: skip
PERMISSION = "compliance.review_access"


def _permissions(user: Any) -> list[str]:
    if user.is_superuser:
        return ["*"]  # every permission, present and future
    return sorted(user.get_all_permissions())


def accounts() -> list[dict[str, Any]]:
    users = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True)).order_by("username")
    rows = []
    for user in users.prefetch_related("groups"):
        methods = sorted({d._meta.model_name for d in devices_for_user(user, confirmed=True)})
        rows.append(
            {
                "username": user.get_username(),
                "full_name": user.get_full_name(),
                "email": user.email,
                "active": user.is_active,
                "staff": user.is_staff,
                "superuser": user.is_superuser,
                "groups": sorted(g.name for g in user.groups.all()),
                "permissions": _permissions(user),
                "last_sign_in": user.last_login.isoformat() if user.last_login else None,
                "joined": user.date_joined.isoformat(),
                "mfa": bool(methods),
                "mfa_methods": methods,
            }
        )
    return rows


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"generated_at": timezone.now().isoformat(), "accounts": rows}, indent=1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(";".join(row[c]) if isinstance(row[c], list) else row[c]) for c in COLUMNS])
    return out.getvalue()


def export_response(user: Any, fmt: str, source: str) -> HttpResponse:
    """The review as a download, recorded in the chain before it is answered."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows = accounts()
    record_compliance_event(
        "compliance.access_review.exported",
        user.get_username(),
        {"format": fmt, "accounts": len(rows)},
        source=source,
    )
    response = HttpResponse(render(rows, fmt), content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="access-review-{stamp}.{fmt}"'
    return response
