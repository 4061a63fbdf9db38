"""The compliance app in Django admin: the officer's audit search and export, jobs and GDPR,
retention rules, legal holds and purge gaps."""

from __future__ import annotations

from django.contrib import admin

from compliance import admin_rules  # noqa: F401  (registers its models)
from compliance.admin_audit import AuditEventAdmin
from compliance.admin_jobs import ComplianceJobAdmin
from compliance.models import AuditEvent, ComplianceJob

admin.site.register(AuditEvent, AuditEventAdmin)
admin.site.register(ComplianceJob, ComplianceJobAdmin)
