"""The dashboard's pages: the admin home (dashboard, then the configuration), the dashboard alone at
``/admin/overview/``, and the fragment both fetch every few seconds to refresh themselves."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from gateway_project.dashboard.data import dashboard

REFRESH_SECONDS = 5


AUDIT_PERMISSION = "compliance.view_auditevent"


def _context(request: HttpRequest) -> dict[str, Any]:
    # The newest changes come from the audit chain: shown to those who may read it.
    changes = request.user.has_perm(AUDIT_PERMISSION)
    return {"dashboard": dashboard(changes=changes), "refresh_ms": REFRESH_SECONDS * 1000}


def index(request: HttpRequest) -> HttpResponse:
    """The admin's own index with the dashboard above the configuration (wrapped in admin_view)."""
    return admin.site.index(request, extra_context={**_context(request), "title": "Gateway dashboard"})


@staff_member_required
@require_safe
def page(request: HttpRequest) -> HttpResponse:
    context = {**admin.site.each_context(request), **_context(request), "title": "Gateway dashboard"}
    return TemplateResponse(request, "admin/dashboard.html", context)


@never_cache
@staff_member_required
@require_safe
def live(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "admin/dashboard_panels.html", _context(request))
