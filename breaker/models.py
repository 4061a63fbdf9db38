"""Health check state and history per target, and the log of breaker state changes.

The settings (thresholds, health check path, ...) live on ``registry.Service`` and ``Target``, so the
routing table compiles them with everything else; these models hold what happened.
"""

from __future__ import annotations

from django.db import models

from registry.models import Service, Target


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
