"""Revoked JWTs (added, lifted, journaled like any admin change) and the admin's sign-ins (seen, and
ended: a deletion here, journaled as one, signs the browser out or revokes the tokens)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from registry.admin import ReadOnlyAdmin
from revocation import services
from revocation.models import AdminSession, JwtRevocation
from revocation.store import RevocationUnavailable


@admin.register(JwtRevocation)
class JwtRevocationAdmin(admin.ModelAdmin):
    list_display = ("kind", "value", "issuer", "issued_before", "expires_at", "created_by", "created_at", "reason")
    list_filter = ("kind",)
    search_fields = ("value", "issuer", "reason", "created_by")
    fields = ("kind", "value", "issuer", "issued_before", "expires_at", "reason", "created_by", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: JwtRevocation | None = None) -> tuple[str, ...]:
        # What an entry revokes is fixed once saved; lift it (delete) and add another to change that.
        fixed = ("kind", "value", "issuer", "issued_before") if obj is not None else ()
        return (*fixed, "created_by", "created_at")

    def save_model(self, request: HttpRequest, obj: JwtRevocation, form: Any, change: bool) -> None:
        try:
            super().save_model(request, obj, form, change)
        except RevocationUnavailable as exc:
            messages.error(request, f"Not saved: {exc}")
            raise


@admin.register(AdminSession)
class AdminSessionAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("user", "kind", "address", "user_agent", "started_at", "expires_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "address", "user_agent")
    list_select_related = ("user",)
    exclude = ("key", "access_tokens")
    actions = ("end",)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # "end" says what a deletion does here
        return found

    @admin.action(description="End the selected sign-ins now (sign out, revoke tokens)", permissions=["delete"])
    def end(self, request: HttpRequest, queryset: QuerySet[AdminSession]) -> None:
        ended = services.end_sign_ins(list(queryset))
        self.message_user(request, f"{ended} sign-in(s) ended.", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: AdminSession) -> None:
        services.end_sign_ins([obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AdminSession]) -> None:
        services.end_sign_ins(list(queryset))
