"""The audit trail and the compliance officer's rules.

One table, ``AuditEvent``, holds every audited fact in one hash chain: proxied requests and
WebSocket connections (the data plane), configuration changes (the control plane), and the
compliance work done on the trail itself (exports, erasures, purges, verifications).

The chain: each event has a gap-free ``seq`` assigned at insertion (under a lock, in insertion
order) and ``hash = HMAC(GATEWAY_AUDIT_KEY, prev_hash || sealed form)`` (``compliance.chain``).
The sealed form holds personal fields (``PERSONAL_FIELDS``) only as keyed pseudonyms
(``compliance.pseudonyms``), so a GDPR erasure, which replaces them by those pseudonyms, leaves
every hash valid; any other change breaks it. Purged runs of events leave a ``ChainGap`` with the
hash of the last purged event, so verification continues across them. Postgres triggers refuse
UPDATE and DELETE on events outside an explicit maintenance transaction (erasure, purge).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from registry.auth_models import Consumer
from registry.models import Route, Service

# Fields of AuditEvent that identify a person: sealed as pseudonyms, replaced by them on erasure.
PERSONAL_FIELDS = ("consumer", "consumer_name", "client_ip", "actor")
# Personal values inside configuration events' before/after data, by object type: sealed and erased
# the same way (compliance.pseudonyms.sealed_data), so an erasure leaves no name or email behind.
PERSONAL_DATA = {
    "registry.consumer": ("name", "metadata", "user_id"),
    "registry.apikey": ("label",),
    "auth.user": ("username", "first_name", "last_name", "email"),
}


class AuditEvent(models.Model):
    class Kind(models.TextChoices):
        REQUEST = "request", "Proxied request"
        WEBSOCKET = "websocket", "WebSocket connection"
        CONFIG = "config", "Configuration change"
        COMPLIANCE = "compliance", "Compliance action"  # export, erasure, purge, verification
        ACCESS = "access", "Sign-in and access"  # sign-ins, accounts, groups, permissions, MFA

    # The chain. seq is assigned by the writer (compliance.chain), not by a sequence, so it has no gaps.
    seq = models.BigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    # Unique per record, made by the gateway (a client may reuse an X-Request-ID): redelivery of the
    # same record from the durable queue is recognised by it and not inserted twice.
    event_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    at = models.DateTimeField(db_index=True)
    # Dotted action code: "request.proxied", "gateway.route.updated", "compliance.export.created"...
    action = models.CharField(max_length=100, db_index=True)

    # Requests and WebSocket connections.
    request_id = models.CharField(max_length=200, blank=True, db_index=True)
    consumer = models.CharField(max_length=200, blank=True, db_index=True)  # consumer id, or a pseudonym
    consumer_name = models.CharField(max_length=200, blank=True)
    client_ip = models.CharField(max_length=100, blank=True, db_index=True)  # or a pseudonym
    method = models.CharField(max_length=16, blank=True)
    path = models.CharField(max_length=2000, blank=True)
    query = models.TextField(blank=True)  # after redaction
    headers = models.JSONField(default=dict, blank=True)  # after redaction
    route = models.CharField(max_length=200, blank=True, db_index=True)
    service = models.CharField(max_length=200, blank=True, db_index=True)  # service slug
    target = models.CharField(max_length=300, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    latency_ms = models.FloatField(null=True, blank=True)
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    error_reason = models.CharField(max_length=100, blank=True)
    phi = models.BooleanField(default=False, db_index=True)

    # Control plane and compliance actions.
    actor = models.CharField(max_length=200, blank=True, db_index=True)  # username, or a pseudonym
    source = models.CharField(max_length=20, blank=True)  # admin, api, apply, celery, shell, gateway
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)  # before/after, export filters, counts...

    erased = models.BooleanField(default=False)  # personal fields replaced by pseudonyms

    class Meta:
        ordering = ("seq",)
        indexes = [models.Index(fields=("service", "at")), models.Index(fields=("consumer", "at"))]
        permissions = [
            ("export_auditevent", "Can export audit events"),
            ("verify_auditevent", "Can run audit chain verification"),
            ("review_access", "Can export the access review of admin accounts"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.request_id or self.object_id}"


class ChainGap(models.Model):
    """Events seq_from..seq_to were purged; ``head_hash`` was the hash of event seq_to, so the event
    after the gap still links to it. ``mac`` (HMAC over the three) makes the gap itself tamper-evident."""

    seq_from = models.BigIntegerField(unique=True)
    seq_to = models.BigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("seq_from",)

    def __str__(self) -> str:
        return f"purged #{self.seq_from}-#{self.seq_to}"


class RouteAudit(models.Model):
    """What the audit trail records of a route: a section of the route's page, API object and YAML
    entry (``compliance.apps``). A route without a row is recorded and carries no PHI."""

    route = models.OneToOneField(Route, on_delete=models.CASCADE, primary_key=True, related_name="audit_settings")
    audit = models.BooleanField(
        default=True, help_text="Record every request in the audit trail (PHI routes are always recorded)."
    )
    phi = models.BooleanField(
        "PHI",
        default=False,
        help_text="Route carries PHI (HIPAA): requests fail with 503 when the audit trail cannot accept a record",
    )

    class Meta:
        verbose_name = "route audit settings"
        verbose_name_plural = "route audit settings"

    def __str__(self) -> str:
        return f"audit settings of {self.route}"


class RedactionRule(models.Model):
    """What traffic records never keep (``compliance.redaction``), beyond the credentials that are
    always redacted."""

    class Kind(models.TextChoices):
        HEADER = "header", "Request header"
        QUERY = "query", "Query parameter"
        JSON_PATH = "json_path", "JSON path (in recorded JSON data)"
        PATH_SEGMENT = "path_segment", "Path segment matching a pattern"
        QUERY_VALUE = "query_value", "Query value matching a pattern"

    PATTERN_KINDS = (Kind.PATH_SEGMENT, Kind.QUERY_VALUE)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(
        max_length=200,
        help_text="Header name, query parameter, JSON path ($.a.b), or a regular expression searched in each "
        "URL-decoded path segment or query value (the whole segment or value is redacted).",
    )
    phi_only = models.BooleanField(
        "PHI routes only", default=False, help_text="Apply to the records of PHI routes only."
    )
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("kind", "name"), name="redaction_rule_unique")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"

    def clean(self) -> None:
        super().clean()
        if self.kind in self.PATTERN_KINDS:
            try:
                pattern = re.compile(self.name)
            except re.error as exc:
                raise ValidationError({"name": f"Not a regular expression: {exc}."}) from None
            if pattern.search(""):
                raise ValidationError({"name": "This pattern matches everything (even an empty value)."})


class RetentionRule(models.Model):
    """How long events are kept: per service, for PHI events, or the default (neither set)."""

    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE)
    phi = models.BooleanField(default=False, help_text="Applies to events of PHI routes.")
    days = models.PositiveIntegerField()

    def __str__(self) -> str:
        scope = self.service.slug if self.service is not None else ("PHI" if self.phi else "default")
        return f"{scope}: {self.days} days"


class LegalHold(models.Model):
    """While active, events of this consumer or service are never purged."""

    consumer = models.ForeignKey(Consumer, null=True, blank=True, on_delete=models.CASCADE)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE)
    reason = models.CharField(max_length=300)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        what = f"consumer {self.consumer_id}" if self.consumer_id else f"service {self.service_id}"
        return f"hold on {what}"


class AuditVerification(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    checked = models.BigIntegerField(default=0)
    first_broken_seq = models.BigIntegerField(null=True, blank=True)
    head_seq = models.BigIntegerField(null=True, blank=True)  # the chain head seen: a later loss of
    head_hash = models.CharField(max_length=64, blank=True)  # the newest events is detected against it
    message = models.TextField(blank=True)
    source = models.CharField(max_length=20, blank=True)  # command, beat, admin

    def __str__(self) -> str:
        state = "running" if self.ok is None else ("ok" if self.ok else f"broken at #{self.first_broken_seq}")
        return f"verification {self.started_at:%Y-%m-%d %H:%M}: {state}"


class ComplianceJob(models.Model):
    """A long export, GDPR subject export or erasure, run by Celery; the officer polls its status."""

    class Kind(models.TextChoices):
        EXPORT = "export", "Audit export"
        SUBJECT_EXPORT = "subject_export", "GDPR subject export"
        ERASURE = "erasure", "GDPR erasure"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    params = models.JSONField(default=dict)  # filters and format, or the subject
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.BigIntegerField(default=0)
    file = models.CharField(max_length=500, blank=True)  # under GATEWAY_VAR_DIR/exports
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"
