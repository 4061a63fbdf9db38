"""Django admin for consumers, their API keys and JWT issuers.

A new key is shown once (in a dialog with a copy button after the consumer page's "Add API key", in
the message after the list's action); only its prefix and hash are stored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from registry.auth_models import ApiKey, Consumer, JwtIssuer
from registry.guide import guide_form
from registry.services import issue_api_key, one_config_change, revoke_api_key, rotate_api_key

ROTATION_GRACE = timedelta(hours=24)
NEW_KEY_SESSION = "gateway_new_api_key"


def _show_key_once(request: HttpRequest, key: str, consumer: Consumer) -> None:
    messages.warning(
        request,
        format_html(
            "New API key for {}: <code>{}</code> — copy it now; it is not stored and will not be shown again.",
            consumer,
            key,
        ),
    )


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("prefix", "label", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Consumer)
class ConsumerAdmin(admin.ModelAdmin):
    list_display = ("name", "roles", "user", "enabled", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "roles", "user__username")
    autocomplete_fields = ("user",)
    readonly_fields = ("consumer_id", "created_at", "updated_at")
    inlines = (ApiKeyInline,)
    actions = ("issue_key",)
    change_form_template = "admin/registry/consumer/change_form.html"

    @admin.display(description="consumer id")
    def consumer_id(self, obj: Consumer) -> str:
        if obj.pk is None:
            return "given when saved"
        return f"{obj.pk} (the {{client_id}} of /ws/{obj.pk} and the consumer-id identity header)"

    def get_urls(self) -> list[Any]:
        add_key = self.admin_site.admin_view(self.add_key_view)
        return [
            path("<path:object_id>/add-key/", add_key, name="registry_consumer_add_key"),
            *super().get_urls(),
        ]

    def add_key_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The page's "Add API key" button: a new key, shown once in a dialog on the page."""
        consumer = self.get_object(request, object_id)
        if request.method != "POST" or consumer is None:
            return HttpResponseNotAllowed(["POST"]) if consumer is not None else HttpResponseRedirect("../../")
        if not (self.has_change_permission(request, consumer) and request.user.has_perm("registry.add_apikey")):
            raise PermissionDenied
        label = str(request.POST.get("label", "")).strip()[:100] or "added in admin"
        with transaction.atomic(), one_config_change():
            issued = issue_api_key(consumer, label=label)
        self.log_change(request, consumer, f"Added API key {issued.api_key.prefix}.")
        request.session[NEW_KEY_SESSION] = {"consumer": consumer.pk, "key": issued.key}
        return HttpResponseRedirect(reverse("admin:registry_consumer_change", args=[consumer.pk]))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        shown = request.session.pop(NEW_KEY_SESSION, None) if request.method == "GET" else None
        context = dict(extra_context or {})
        if shown and str(shown.get("consumer")) == str(object_id):
            context["new_api_key"] = shown["key"]  # shown once: the session forgets it here
        return super().change_view(request, object_id, form_url, context)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        return guide_form(super().get_form(request, obj, change, **kwargs))

    @admin.action(description="Issue a new API key for each selected consumer")
    def issue_key(self, request: HttpRequest, queryset: QuerySet[Consumer]) -> None:
        with transaction.atomic(), one_config_change():
            issued = [issue_api_key(consumer, label="issued in admin") for consumer in queryset]
        for item in issued:
            _show_key_once(request, item.key, item.api_key.consumer)


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("consumer", "label", "expires_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("prefix", "consumer", "label", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "consumer")
    list_select_related = ("consumer",)
    search_fields = ("prefix", "label", "consumer__name")
    autocomplete_fields = ("consumer",)
    actions = ("revoke", "rotate")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("consumer", "prefix", "created_at", "last_used_at", "revoked_at")

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return ["consumer", "label", "expires_at"]
        return ["consumer", "prefix", "label", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = issue_api_key(obj.consumer, obj.label, obj.expires_at)
        obj.pk = issued.api_key.pk  # so the admin's "added" message and redirect name the new key
        obj.prefix = issued.api_key.prefix
        _show_key_once(request, issued.key, obj.consumer)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # revoke instead: the row stays as a record

    @admin.action(description="Revoke selected keys now")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        with transaction.atomic(), one_config_change():
            for key in queryset.filter(revoked_at__isnull=True):
                revoke_api_key(key)
        self.message_user(request, "Revoked; the keys stop working within about a second.")

    @admin.action(description="Rotate selected keys (the old ones keep working for 24 hours)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        until = timezone.now() + ROTATION_GRACE
        for key in queryset.filter(revoked_at__isnull=True).select_related("consumer"):
            issued = rotate_api_key(key, until)
            _show_key_once(request, issued.key, key.consumer)


@admin.register(JwtIssuer)
class JwtIssuerAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "issuer", "audience", "algorithm", "enabled")
    list_filter = ("enabled", "algorithm")
    search_fields = ("name", "issuer", "audience")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "enabled")}),
        ("Claims", {"fields": ("issuer", "audience", "leeway", "roles_claim", "accepted_types", "allow_untyped")}),
        (
            "Keys",
            {
                "fields": ("algorithm", "secret", "public_key", "key_id", "jwks_url"),
                "description": "One algorithm per issuer. Keys named by a token (jku, x5u, jwk) are never used.",
            },
        ),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
