"""Admin pages of the audit trail's own rules: redaction rules and verification runs (the
compliance officer's search, exports and retention pages live with their feature)."""

from __future__ import annotations

from django.contrib import admin

from compliance.models import AuditVerification, RedactionRule
from registry.admin import ReadOnlyAdmin


@admin.register(RedactionRule)
class RedactionRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "phi_only", "enabled", "note")
    list_filter = ("kind", "phi_only", "enabled")
    search_fields = ("name", "note")


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("started_at", "ok", "checked", "first_broken_seq", "head_seq", "source")
    list_filter = ("ok", "source")
    readonly_fields = [f.name for f in AuditVerification._meta.fields]
