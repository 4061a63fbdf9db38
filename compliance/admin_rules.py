"""Retention rules, legal holds and the purge gaps in the admin (the officer sets the first two)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from compliance.models import ChainGap, LegalHold, RetentionRule
from registry.admin import ReadOnlyAdmin


class RetentionRuleForm(forms.ModelForm):
    class Meta:
        model = RetentionRule
        fields = ("service", "phi", "days")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        service, phi = data.get("service"), data.get("phi", False)
        if service is not None and phi:
            self.add_error("phi", "A service rule applies to all of its events; leave PHI unticked.")
        same = (
            RetentionRule.objects.filter(service=service)
            if service
            else RetentionRule.objects.filter(service=None, phi=phi)
        )
        if same.exclude(pk=self.instance.pk).exists():
            scope = f"service {service}" if service else ("PHI events" if phi else "the default")
            raise forms.ValidationError(f"There is already a rule for {scope}: edit it.")
        return data


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    form = RetentionRuleForm
    list_display = ("__str__", "service", "phi", "days")
    list_select_related = ("service",)


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ("consumer", "service", "reason", "active")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("consumer") is None) == (data.get("service") is None):
            raise forms.ValidationError("A hold is on one consumer or one service: choose exactly one.")
        return data


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    form = LegalHoldForm
    list_display = ("__str__", "consumer", "service", "reason", "active", "created_by", "created_at")
    list_filter = ("active",)
    list_select_related = ("consumer", "service", "created_by")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request: HttpRequest, obj: LegalHold, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(ChainGap)
class ChainGapAdmin(ReadOnlyAdmin):
    """Where the retention purge removed events; read-only (the chain verification checks them)."""

    list_display = ("__str__", "seq_from", "seq_to", "created_at", "head_hash")
