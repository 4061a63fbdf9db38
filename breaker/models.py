"""Breaker and health check settings per service (and per target), their state, and their history.

``ServiceBreaker`` and ``TargetBreaker`` are sections of the service and target pages, API objects
and YAML entries (``breaker.apps``, ``registry.sections``): a service without a row has no breaker
and no health check. The other models hold what happened.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registry import validators as v
from registry.models import Service, Target


class ServiceBreaker(models.Model):
    """A service's circuit breaker (per target; the defaults a target may override) and active health
    checks (the Celery sweep)."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, primary_key=True, related_name="breaker")
    breaker_enabled = models.BooleanField("circuit breaker", default=False)
    breaker_failures = models.PositiveSmallIntegerField(
        "consecutive failures", default=5, help_text="Consecutive failures that open a target's breaker; 0: off."
    )
    breaker_failure_ratio = models.FloatField(
        "failure ratio",
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of failed calls in the window that opens the breaker, e.g. 0.5; 0: off.",
    )
    breaker_min_calls = models.PositiveIntegerField(
        "minimum calls", default=20, validators=[MinValueValidator(1)], help_text="Calls before the ratio applies."
    )
    breaker_window = models.FloatField(
        "ratio window", default=10.0, validators=[MinValueValidator(1.0)], help_text="Seconds."
    )
    breaker_failure_statuses = models.CharField(
        "failure statuses",
        max_length=200,
        blank=True,
        default="502,503,504",
        validators=[v.validate_statuses],
        help_text="Backend statuses that count as failures, e.g. 500-599. Connect errors and timeouts always do.",
    )
    breaker_open_seconds = models.FloatField(
        "open for", default=5.0, validators=[MinValueValidator(0.05)], help_text="Seconds; doubled at each re-open."
    )
    breaker_max_open_seconds = models.FloatField(
        "open at most", default=60.0, validators=[MinValueValidator(0.05)], help_text="Cap of the back-off, seconds."
    )
    breaker_half_open_probes = models.PositiveSmallIntegerField(
        "half-open probes",
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Probe requests let through at once.",
    )
    breaker_half_open_successes = models.PositiveSmallIntegerField(
        "successes to close", default=1, validators=[MinValueValidator(1)]
    )
    # Active health checks (the sweep): an empty path turns them off for this service.
    health_check_path = models.CharField(
        max_length=255, blank=True, validators=[v.validate_health_path], help_text="e.g. /healthz; empty: no checks."
    )
    health_check_method = models.CharField(
        max_length=4,
        choices=[("GET", "GET"), ("HEAD", "HEAD")],
        default="GET",
        help_text="HEAD spares a backend whose health page is expensive to render.",
    )
    health_check_statuses = models.CharField(
        max_length=200, default="200-399", validators=[v.validate_statuses], help_text="Statuses that mean healthy."
    )
    # The defaults take a dead target out within 3 s: the sweep runs every second, so a target is
    # checked at most ~1 s after it died; a refused connection fails at once and a silent one after
    # the 1 s timeout; one failure is enough; each gateway process reads the results every 0.5 s.
    health_check_timeout = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.05), MaxValueValidator(60)], help_text="Seconds."
    )
    health_check_interval = models.FloatField(
        default=1.0, validators=[MinValueValidator(1.0)], help_text="Seconds between two checks of a target."
    )
    health_check_healthy_successes = models.PositiveSmallIntegerField(
        "successes to healthy", default=2, validators=[MinValueValidator(1)]
    )
    health_check_unhealthy_failures = models.PositiveSmallIntegerField(
        "failures to unhealthy", default=1, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = "breaker and health check settings"
        verbose_name_plural = "breaker and health check settings"

    def __str__(self) -> str:
        return f"breaker and health checks of {self.service}"


def settings_of(service: Service) -> ServiceBreaker:
    """The service's settings, or the defaults (no breaker, no health check) when it has none."""
    try:
        return service.breaker
    except ServiceBreaker.DoesNotExist:
        return ServiceBreaker(service=service)


class TargetBreaker(models.Model):
    """A target's overrides of its service's breaker settings (empty: inherit)."""

    target = models.OneToOneField(Target, on_delete=models.CASCADE, primary_key=True, related_name="breaker")
    breaker_failures = models.PositiveSmallIntegerField(
        "consecutive failures", null=True, blank=True, help_text="Overrides the service's value; empty: inherit."
    )
    breaker_open_seconds = models.FloatField(
        "breaker open for",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.05)],
        help_text="Overrides the service's value; empty: inherit.",
    )

    class Meta:
        verbose_name = "breaker overrides"
        verbose_name_plural = "breaker overrides"

    def __str__(self) -> str:
        return f"breaker overrides of {self.target}"


class TargetHealth(models.Model):
    """The current result of active checks for one target (one row per checked target)."""

    class Status(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        HEALTHY = "healthy", "Healthy"
        UNHEALTHY = "unhealthy", "Unhealthy"

    target = models.OneToOneField(Target, on_delete=models.CASCADE, related_name="health", primary_key=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    successes = models.PositiveIntegerField(default=0, help_text="Consecutive successful checks.")
    failures = models.PositiveIntegerField(default=0, help_text="Consecutive failed checks.")
    checked_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True, help_text="When the status last changed.")

    class Meta:
        verbose_name_plural = "target health"

    def __str__(self) -> str:
        return f"{self.target}: {self.status}"


class HealthCheckResult(models.Model):
    """One probe of one target; the newest ``GATEWAY_HEALTH_HISTORY`` per target are kept."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="health_results")
    checked_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    forced = models.BooleanField(default=False, help_text="Asked for by an admin, not the schedule.")

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [models.Index(fields=["target", "-checked_at"], name="health_result_target_time")]

    def __str__(self) -> str:
        return f"{self.target} {'ok' if self.ok else 'failed'} at {self.checked_at:%Y-%m-%d %H:%M:%S}"


class BreakerEvent(models.Model):
    """A breaker state change (from the data plane) or an admin's reset."""

    at = models.DateTimeField(db_index=True)
    service = models.ForeignKey(Service, on_delete=models.SET_NULL, null=True, related_name="breaker_events")
    target = models.ForeignKey(Target, on_delete=models.SET_NULL, null=True, related_name="breaker_events")
    address = models.CharField(max_length=300, help_text="The target's address at the time.")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    reason = models.CharField(max_length=200)
    process = models.CharField(max_length=100, blank=True, help_text="The gateway process that saw it.")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.address}: {self.from_state} -> {self.to_state}"
