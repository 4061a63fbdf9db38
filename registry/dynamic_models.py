"""A service's dynamic route ``ANY /api/v1/{slug}/{path}``: off unless the service opts in, and then
never less protected than the service's strictest route unless an admin says so (``registry.dynamic``).

A section of the service (``registry.apps``): its fields show on the service's admin page, in its
admin API object and in its YAML entry. A service without a row has no dynamic route.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from registry import validators as v
from registry.models import Service


class ServiceDynamicRoute(models.Model):
    class Auth(models.TextChoices):
        STRICTEST = "strictest", "As strict as the service's strictest route"
        NONE = "none", "None (anyone)"
        API_KEY = "api_key", "API key"
        JWT = "jwt", "JWT (any enabled issuer)"
        EITHER = "either", "API key or JWT"
        INTROSPECTION = "introspection", "Token introspection (external service)"

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, primary_key=True, related_name="dynamic_route_settings"
    )
    dynamic_route = models.BooleanField(
        "dynamic route",
        default=False,
        help_text="Also serve ANY /api/v1/{slug}/{path}, forwarded as /{path}: it reaches every path of the backend.",
    )
    dynamic_auth_mode = models.CharField(
        "dynamic route authentication",
        max_length=15,
        choices=Auth.choices,
        default=Auth.STRICTEST,
        help_text="Default: every caller must satisfy each route of this service (their modes, roles and issuers).",
    )
    dynamic_required_roles = models.CharField(
        "dynamic route roles",
        max_length=500,
        blank=True,
        validators=[v.validate_roles],
        help_text="With an explicit authentication: comma-separated roles the caller must all hold.",
    )
    dynamic_weaker_auth = models.BooleanField(
        "allow weaker dynamic authentication",
        default=False,
        help_text="Accept an explicit authentication that admits callers some route of this service refuses "
        "(shown as a warning here and in /health/detailed).",
    )

    class Meta:
        verbose_name = "service dynamic route"
        verbose_name_plural = "service dynamic routes"

    def __str__(self) -> str:
        return f"dynamic route of {self.service}"

    def clean(self) -> None:
        from registry.dynamic import decide, route_demands

        super().clean()
        explicit = self.dynamic_auth_mode != self.Auth.STRICTEST
        try:
            roles = v.parse_roles(self.dynamic_required_roles or "")
        except ValidationError:
            roles = ()  # reported by the field's validator
        if roles and self.dynamic_auth_mode in (self.Auth.STRICTEST, self.Auth.NONE):
            message = "Roles need an explicit authentication mode (the strictest route's roles apply)."
            raise ValidationError({"dynamic_required_roles": message})
        if self.dynamic_weaker_auth and not explicit:
            raise ValidationError({"dynamic_weaker_auth": "Only an explicit authentication can be weaker."})
        if not self.dynamic_route or self.service.pk is None:
            return
        decision = decide(self, self.service.name, self.service.slug, route_demands(self.service))
        if decision.refused:
            field = "dynamic_weaker_auth" if explicit else "dynamic_auth_mode"
            raise ValidationError({field: decision.refused})
