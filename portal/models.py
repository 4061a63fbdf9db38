"""The portal's settings of a service and a route, and each service's last good API document.

``ServicePortal`` and ``RoutePortal`` are sections of the service and route pages, API objects and
YAML entries (``portal.apps``, ``registry.sections``): without a row a service has no document and
a route is not validated. ``ServiceDocument`` is what the refresh fetched (``portal.services``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from registry import validators as v
from registry.models import Route, Service


@v.described(v.pattern(rf"|{v.PATH_WITH_QUERY}"))
def validate_document_path(value: str) -> None:
    """A path on the service's own targets, never a URL: the gateway fetches from its targets only."""
    try:
        v.validate_health_path(value)
    except ValidationError:
        raise ValidationError("A path on the service's targets, such as /openapi.json (not a URL).") from None


class ServicePortal(models.Model):
    """Where a service's backend serves its OpenAPI document, and whether the portal shows it."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, primary_key=True, related_name="portal")
    openapi_url = models.CharField(
        "OpenAPI document path",
        max_length=255,
        blank=True,
        validators=[validate_document_path],
        help_text="A path on the service's targets, e.g. /openapi.json; empty: no document.",
    )
    publish_docs = models.BooleanField(
        "publish in the developer portal",
        default=False,
        help_text="Show the document, rewritten to the gateway's routes, at /api/v1/docs.",
    )

    class Meta:
        verbose_name = "developer portal settings"
        verbose_name_plural = "developer portal settings"

    def __str__(self) -> str:
        return f"portal settings of {self.service}"

    def clean(self) -> None:
        if self.publish_docs and not self.openapi_url:
            raise ValidationError({"publish_docs": "Publishing needs the OpenAPI document path."})


class RoutePortal(models.Model):
    """Whether requests on a route are validated against its service's document."""

    route = models.OneToOneField(Route, on_delete=models.CASCADE, primary_key=True, related_name="portal")
    validate_requests = models.BooleanField(
        default=False,
        help_text="Check parameters, headers and JSON bodies against the service's OpenAPI document "
        "before the backend is called (400 when they do not match).",
    )

    class Meta:
        verbose_name = "request validation"
        verbose_name_plural = "request validation"

    def __str__(self) -> str:
        return f"request validation of {self.route}"

    def clean(self) -> None:
        if not self.validate_requests:
            return
        service = getattr(self.route, "service", None)
        path = ServicePortal.objects.filter(service=service).values_list("openapi_url", flat=True).first()
        if service is None or service.pk is None or not path:
            raise ValidationError(
                {
                    "validate_requests": ValidationError(
                        "Validation needs the service's OpenAPI document path (developer portal).",
                        code="conflict",  # with the service as stored
                    )
                }
            )


class ServiceDocument(models.Model):
    """The last good OpenAPI document of a service, and how the last refresh went.

    A new document is saved only when it is valid and differs from the one kept; a failed fetch
    only writes ``checked_at`` and ``error`` (the document stays)."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, primary_key=True, related_name="document")
    document = models.JSONField(null=True, blank=True, help_text="As the backend served it (validated).")
    digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the document, its version.")
    openapi_version = models.CharField(max_length=20, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True, help_text="When the kept document was fetched.")
    checked_at = models.DateTimeField(null=True, blank=True, help_text="The last refresh, good or not.")
    error = models.TextField(blank=True, help_text="Why the last refresh failed; empty when it did not.")

    class Meta:
        verbose_name = "API document"

    def __str__(self) -> str:
        return f"API document of {self.service}"
