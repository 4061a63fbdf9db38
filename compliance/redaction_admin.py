"""Admin pages of the audit trail's own rules: redaction rules and verification runs (the
compliance officer's search, exports and retention pages live with their feature)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from compliance.models import AuditVerification, RedactionRule


@admin.register(RedactionRule)
class RedactionRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "enabled", "note")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "note")


@admin.register(AuditVerification)
class AuditVerificationAdmin(admin.ModelAdmin):
    list_display = ("started_at", "ok", "checked", "first_broken_seq", "head_seq", "source")
    list_filter = ("ok", "source")
    readonly_fields = [f.name for f in AuditVerification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
