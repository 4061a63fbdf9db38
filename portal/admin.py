"""The portal in the admin: each service's API document (when fetched, the last error) on the
service page, an action to refresh the documents now, and the list of documents.

The settings are sections of the service and route pages (``portal.apps``); the panel and the
action are added here with ``registry.admin.extend``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portal import services
from portal.models import ServiceDocument
from registry.admin import ReadOnlyAdmin, extend
from registry.models import Service

PANEL = ("API document", {"fields": ("api_document",)})


def describe(document: ServiceDocument | None) -> SafeString:
    if document is None or (document.checked_at is None and document.fetched_at is None):
        return SafeString("not fetched yet")
    kept = (
        format_html("OpenAPI {} fetched at {} (version {})", document.openapi_version, document.fetched_at,
                    document.digest[:12])
        if document.document is not None
        else SafeString("no good document yet")
    )  # fmt: skip
    if document.error:
        return format_html(
            '{}<br><strong style="color:#ba2121">The last refresh at {} failed:</strong> {}',
            kept, document.checked_at, document.error,
        )  # fmt: skip
    return format_html("{}<br>Last checked at {}: good.", kept, document.checked_at)


@admin.register(ServiceDocument)
class ServiceDocumentAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("service", "openapi_version", "fetched_at", "checked_at", "short_error")
    list_select_related = ("service",)
    exclude = ("document",)
    readonly_fields = ("service", "openapi_version", "digest", "fetched_at", "checked_at", "error", "published")

    @admin.display(description="last error")
    def short_error(self, obj: ServiceDocument) -> str:
        return obj.error[:120]

    @admin.display(description="as published")
    def published(self, obj: ServiceDocument) -> SafeString:
        url = reverse("portal-service-document", args=[obj.service.slug])
        return format_html('<a href="{}">{}</a>', url, url)


class ServiceDocumentPanel:
    """Added to the service page: the document's state, and the 'refresh now' action."""

    actions = ("refresh_api_documents",)
    readonly_fields = ("api_document",)
    panels = (PANEL,)

    @admin.display(description="OpenAPI document")
    def api_document(self, obj: Service) -> SafeString:
        if obj.pk is None:
            return SafeString("-")
        return describe(ServiceDocument.objects.filter(service=obj).first())

    @admin.action(description="Refresh the selected services' API documents now")
    def refresh_api_documents(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        results = [services.refresh_document(service) for service in queryset.prefetch_related("targets")]
        for result in results:
            if result.ok:
                text = "a new document" if result.changed else "unchanged"
                self.message_user(request, f"{result.service}: {text}.")  # type: ignore[attr-defined]
            else:
                self.message_user(request, f"{result.service}: {result.error}", level=messages.WARNING)  # type: ignore[attr-defined]


extend(Service, ServiceDocumentPanel)
