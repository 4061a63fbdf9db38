"""Revoked JWTs (added, lifted, journaled like any admin change) and the admin's sign-ins (seen, and
ended: a deletion here, journaled as one, signs the browser out or revokes the tokens)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

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

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return self._unless_redis_refuses(request, super().changeform_view, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        return self._unless_redis_refuses(request, super().delete_view, object_id, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return self._unless_redis_refuses(request, super().changelist_view, extra_context)  # bulk deletes

    def _unless_redis_refuses(self, request: HttpRequest, view: Any, *args: Any) -> HttpResponse:
        """A revocation Redis did not take was rolled back with its row (``services.distribute``): the
        admin says so and stays on the page, instead of a server error."""
        try:
            return view(request, *args)
        except RevocationUnavailable as exc:
            self.message_user(request, f"Nothing was changed: {exc} Try again once Redis answers.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


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
