"""RatePolicy: how many requests, per what subject, where, and what to do when Redis cannot answer."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registry.models import Consumer, Route, Service

HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
MAX_PERIOD = 31 * 86_400


class RatePolicy(models.Model):
    class Scope(models.TextChoices):
        GLOBAL = "global", "Global (one counter for every request it applies to)"
        ROUTE = "route", "Per route"
        SERVICE = "service", "Per service"
        CONSUMER = "consumer", "Per consumer (authenticated routes only)"
        API_KEY = "api_key", "Per API key (requests authenticated with a key only)"
        CLIENT_IP = "client_ip", "Per client IP"
        HEADER = "header", "Per value of a request header"

    class Algorithm(models.TextChoices):
        SLIDING_WINDOW = "sliding_window", "Sliding window"
        GCRA = "gcra", "GCRA (token bucket)"

    class FailureMode(models.TextChoices):
        OPEN = "open", "Open: let requests through, without limit headers"
        CLOSED = "closed", "Closed: answer 503 with Retry-After"
        LOCAL = "local", "Local: per-process counters at limit / process count"

    name = models.SlugField(
        max_length=100, unique=True, help_text="Shown to clients in RateLimit-Policy and in 429 answers."
    )
    description = models.CharField(max_length=300, blank=True)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.CLIENT_IP)
    header_name = models.CharField(
        max_length=100, blank=True, help_text="For the header scope: the request header whose value is counted."
    )
    limit = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(10_000_000)], help_text="Requests per period."
    )
    period = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(MAX_PERIOD)], help_text="Seconds."
    )
    burst = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(10_000_000)],
        help_text="GCRA only: how many requests may arrive at once (the bucket size); 0 means the limit.",
    )
    algorithm = models.CharField(max_length=20, choices=Algorithm.choices, default=Algorithm.SLIDING_WINDOW)
    # Closed by default: a limit that cannot be checked is not lifted (local mode cannot know what
    # Redis already admitted before it stopped answering, so it over-admits).
    failure_mode = models.CharField(max_length=10, choices=FailureMode.choices, default=FailureMode.CLOSED)
    shadow = models.BooleanField(
        default=False, help_text="Only count and report 'would have limited' (per consumer); never reject."
    )
    enabled = models.BooleanField(default=True)
    all_routes = models.BooleanField(default=False, help_text="Apply to every route (a global attachment).")
    routes = models.ManyToManyField(Route, blank=True, related_name="rate_policies")
    services = models.ManyToManyField(
        Service, blank=True, related_name="rate_policies", help_text="Apply to every route of these services."
    )
    consumers = models.ManyToManyField(
        Consumer,
        blank=True,
        related_name="rate_policies",
        help_text="Only count requests of these consumers (on the routes chosen above, or on every route).",
    )
    # Written from GLOBAL_/USER_RATE_LIMIT_* at each start (ratelimit.environment): read-only here. It
    # applies to the routes without a policy of their own with the same scope.
    from_environment = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "rate policy"
        verbose_name_plural = "rate policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        header = self.header_name.strip()
        if self.scope == self.Scope.HEADER:
            if not header:
                errors["header_name"] = "The header scope needs a header name, for example X-Tenant-ID."
            elif not HEADER_NAME.match(header):
                errors["header_name"] = "A header name has only letters, digits and hyphens."
        elif header:
            errors["header_name"] = "Only the header scope uses a header name; clear it or choose that scope."
        if self.burst and self.algorithm != self.Algorithm.GCRA:
            errors["burst"] = "Burst applies to the GCRA algorithm only; a sliding window admits the limit per period."
        if errors:
            raise ValidationError(errors)
        self.header_name = header


def attachment_error(all_routes: bool, routes: object, services: object, consumers: object) -> str | None:
    """A policy must say where it applies; the forms and the API call this with the chosen relations."""
    if all_routes or any(bool(list(x or [])) for x in (routes, services, consumers)):  # type: ignore[call-overload]
        return None
    return "Attach the policy somewhere: tick 'all routes', or choose routes, services or consumers."
