"""Edge settings: CORS, security headers, IP lists and transformations, for a route, a service, all
routes (``EdgeDefaults``) or a consumer (``ConsumerEdge``).

Each group (``edge.groups``) becomes one row per route and per service, each a section of their
admin page, admin API object and YAML entry (``edge.apps``). An owner without a row has the
defaults, which mean "inherit": the route from its service, the service from the defaults. How the
levels combine is in ``edge.compile`` and docs/edge-policies.md.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from edge.groups import (
    LOCATION_HELP,
    CorsFields,
    IpListFields,
    SecurityFields,
    Switch,
    TransformFields,
    request_add_field,
    request_remove_field,
    request_set_field,
    security_mode,
    switch,
)
from registry.models import Consumer, Route, Service


def _owner(model: type[models.Model], related: str) -> Any:
    return models.OneToOneField(model, on_delete=models.CASCADE, primary_key=True, related_name=related)


class RouteCors(CorsFields):
    route = _owner(Route, "edge_cors")

    class Meta:
        verbose_name = "route CORS settings"
        verbose_name_plural = "route CORS settings"

    def __str__(self) -> str:
        return f"CORS of {self.route}"


class ServiceCors(CorsFields):
    service = _owner(Service, "edge_cors")

    class Meta:
        verbose_name = "service CORS settings"
        verbose_name_plural = "service CORS settings"

    def __str__(self) -> str:
        return f"CORS of {self.service}"


class RouteSecurityHeaders(SecurityFields):
    route = _owner(Route, "edge_security")

    class Meta:
        verbose_name = "route security headers"
        verbose_name_plural = "route security headers"

    def __str__(self) -> str:
        return f"security headers of {self.route}"


class ServiceSecurityHeaders(SecurityFields):
    service = _owner(Service, "edge_security")

    class Meta:
        verbose_name = "service security headers"
        verbose_name_plural = "service security headers"

    def __str__(self) -> str:
        return f"security headers of {self.service}"


class RouteIpLists(IpListFields):
    route = _owner(Route, "edge_ip_lists")

    class Meta:
        verbose_name = "route IP lists"
        verbose_name_plural = "route IP lists"

    def __str__(self) -> str:
        return f"IP lists of {self.route}"


class ServiceIpLists(IpListFields):
    service = _owner(Service, "edge_ip_lists")

    class Meta:
        verbose_name = "service IP lists"
        verbose_name_plural = "service IP lists"

    def __str__(self) -> str:
        return f"IP lists of {self.service}"


class RouteTransform(TransformFields):
    route = _owner(Route, "edge_transform")

    class Meta:
        verbose_name = "route transformations"
        verbose_name_plural = "route transformations"

    def __str__(self) -> str:
        return f"transformations of {self.route}"


class ServiceTransform(TransformFields):
    service = _owner(Service, "edge_transform")

    class Meta:
        verbose_name = "service transformations"
        verbose_name_plural = "service transformations"

    def __str__(self) -> str:
        return f"transformations of {self.service}"


class EdgeDefaults(CorsFields, SecurityFields, IpListFields, TransformFields):
    """The level under every service: what a route gets when neither it nor its service says
    otherwise. One row (``load``), edited in the admin and at /admin/api/edge-defaults/."""

    ONE = 1
    cors = switch("CORS", "", inherit=False, default=Switch.OFF)
    security_headers = security_mode(inherit=False)
    rewrite_location = switch("rewrite Location", LOCATION_HELP, inherit=False, default=Switch.ON)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "edge defaults (all routes)"
        verbose_name_plural = "edge defaults (all routes)"

    def __str__(self) -> str:
        return "edge defaults for all routes"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = self.ONE  # the one row, however it was made
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for base in (CorsFields, SecurityFields, TransformFields):
            try:
                base.clean(self)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    errors.setdefault(name, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> EdgeDefaults:
        """The saved row, or an unsaved one with the defaults."""
        return cls.objects.filter(pk=cls.ONE).first() or cls(pk=cls.ONE)


class ConsumerEdge(IpListFields):
    """A consumer's own lists and request headers, applied after authentication on every route."""

    consumer = _owner(Consumer, "edge")
    enabled = models.BooleanField(default=True)
    request_headers_remove = request_remove_field()
    request_headers_set = request_set_field()
    request_headers_add = request_add_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "consumer edge settings"
        verbose_name_plural = "consumer edge settings"

    def __str__(self) -> str:
        return f"edge settings of {self.consumer}"
