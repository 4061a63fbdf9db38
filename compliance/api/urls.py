"""Audit search, export and job status under /admin/api/ (see compliance/api/views.py; merged into the
admin API by ``gateway_project.urls``)."""

from __future__ import annotations

from django.urls import path

from compliance.api import views

urlpatterns = [
    path("audit-events/", views.AuditEventList.as_view(), name="audit-events"),
    path("audit-events/export/", views.AuditEventExport.as_view(), name="audit-export"),
    path("compliance-jobs/<int:job_id>/", views.ComplianceJobDetail.as_view(), name="compliance-job"),
    path("access-review/", views.AccessReview.as_view(), name="access-review"),
]
