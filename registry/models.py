"""The control plane's configuration: services, their targets, and the routes that reach them."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registry import validators as v


class Service(models.Model):
    class Protocol(models.TextChoices):
        HTTP = "http", "HTTP"
        HTTPS = "https", "HTTPS"

    class Balancing(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Weighted round-robin"
        LEAST_CONNECTIONS = "least_connections", "Least connections"
        RANDOM = "random", "Weighted random"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        validators=[v.validate_slug_not_reserved],
        help_text="Stable identifier; also the {service} in /api/v1/{service}/{path}.",
    )
    description = models.TextField(blank=True)
    protocol = models.CharField(max_length=5, choices=Protocol.choices, default=Protocol.HTTP)
    base_path = models.CharField(
        max_length=255,
        blank=True,
        validators=[v.validate_base_path],
        help_text="Prepended to every forwarded path, e.g. /v1 (empty for none).",
    )
    connect_timeout = models.FloatField(
        default=5.0, validators=[MinValueValidator(0.05), MaxValueValidator(300)], help_text="Seconds."
    )
    read_timeout = models.FloatField(
        default=60.0,
        validators=[MinValueValidator(0.05), MaxValueValidator(3600)],
        help_text="Seconds to wait for each read from the upstream.",
    )
    retries = models.PositiveSmallIntegerField(
        default=1,
        validators=[MaxValueValidator(5)],
        help_text="Extra attempts on another target, for idempotent methods, before any response byte.",
    )
    lb_algorithm = models.CharField(
        "load balancing", max_length=20, choices=Balancing.choices, default=Balancing.ROUND_ROBIN
    )
    preserve_host = models.BooleanField(
        default=False, help_text="Send the client's Host upstream instead of the target's host."
    )
    # TLS to the backend (https only): public data and file paths, never a private key.
    tls_ca_bundle = models.TextField(
        "CA bundle",
        blank=True,
        validators=[v.validate_ca_bundle],
        help_text="PEM certificates the backend's certificate must chain to (only these are trusted); "
        "empty uses GATEWAY_UPSTREAM_CA_BUNDLE, or the system store.",
    )
    tls_client_cert = models.CharField(
        "client certificate file",
        max_length=1024,
        blank=True,
        validators=[v.validate_file_path],
        help_text="Path on the gateway hosts of the PEM certificate shown to the backend (mutual TLS); "
        "empty uses GATEWAY_UPSTREAM_CLIENT_CERT.",
    )
    tls_client_key = models.CharField(
        "client key file",
        max_length=1024,
        blank=True,
        validators=[v.validate_file_path],
        help_text="Path on the gateway hosts of that certificate's private key (the key itself is never "
        "stored); empty: the key is in the certificate file.",
    )
    tls_server_name = models.CharField(
        "server name",
        max_length=253,
        blank=True,
        validators=[v.validate_server_name],
        help_text="Sent as SNI and verified in the backend's certificate; empty uses each target's host.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    TLS_FIELDS = ("tls_ca_bundle", "tls_client_cert", "tls_client_key", "tls_server_name")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self.clean_tls()

    def clean_tls(self) -> None:
        """TLS settings only on https services; a client key only with its certificate."""
        errors: dict[str, str] = {}
        if self.protocol != self.Protocol.HTTPS:
            for name in self.TLS_FIELDS:
                if getattr(self, name):
                    errors[name] = "Only https services use TLS settings: set the protocol to HTTPS or leave it empty."
        elif self.tls_client_key and not self.tls_client_cert:
            errors["tls_client_key"] = "A client key needs its certificate: set the client certificate file too."
        if errors:
            raise ValidationError(errors)


class Target(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="targets")
    host = models.CharField(max_length=253, validators=[v.validate_hostname], help_text="Host name or IP address.")
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    weight = models.PositiveIntegerField(
        default=100,
        validators=[MaxValueValidator(1000)],
        help_text="Share of traffic relative to the service's other targets; 0 takes none.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service__name", "host", "port"]
        constraints = [models.UniqueConstraint(fields=["service", "host", "port"], name="unique_target_address")]

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class Route(models.Model):
    class VersionSource(models.TextChoices):
        PATH = "path", "Path segment after the prefix"
        HEADER = "header", "Version header"
        EITHER = "either", "Path segment or header"

    class AuthMode(models.TextChoices):
        NONE = "none", "None"
        API_KEY = "api_key", "API key"
        JWT = "jwt", "JWT"
        EITHER = "either", "API key or JWT"
        INTROSPECTION = "introspection", "Token introspection (external service)"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="routes")
    name = models.CharField(max_length=100, unique=True)
    path_prefix = models.CharField(
        max_length=255,
        validators=[v.validate_path_prefix],
        help_text="Matches this path and everything below it, e.g. /orders matches /orders/42 but not /ordersx.",
    )
    host = models.CharField(
        max_length=253,
        blank=True,
        validators=[v.validate_route_host],
        help_text="Only match this Host (exact, or *.example.com); empty matches any host.",
    )
    methods = models.CharField(
        max_length=80,
        blank=True,
        validators=[v.validate_methods],
        help_text="Comma-separated, e.g. GET,POST; empty allows every method.",
    )
    strip_prefix = models.BooleanField(default=True, help_text="Remove the prefix before forwarding.")
    priority = models.IntegerField(default=0, help_text="Breaks ties between routes with the same prefix; higher wins.")
    api_version = models.CharField(
        max_length=32,
        blank=True,
        validators=[v.validate_api_version],
        help_text="Only match requests for this API version, e.g. v2; empty matches any.",
    )
    version_source = models.CharField(
        max_length=10,
        choices=VersionSource.choices,
        default=VersionSource.EITHER,
        help_text="Where the version is read.",
    )
    max_body_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Largest request body accepted; empty uses GATEWAY_MAX_BODY_BYTES."
    )
    body_timeout = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(3600)],
        help_text="Seconds the whole request body may take to arrive (then 408); empty uses GATEWAY_BODY_DEADLINE.",
    )
    auth_mode = models.CharField("authentication", max_length=15, choices=AuthMode.choices, default=AuthMode.NONE)
    required_roles = models.CharField(
        max_length=500,
        blank=True,
        validators=[v.validate_roles],
        help_text="Comma-separated; the caller must hold every one (403 otherwise).",
    )
    allow_anonymous = models.BooleanField(
        default=False, help_text="Requests without credentials pass (without identity); bad credentials still get 401."
    )
    api_key_header = models.CharField(
        max_length=64,
        blank=True,
        validators=[v.validate_header_name],
        help_text="Also read API keys from this header (Authorization is always read).",
    )
    api_key_query_param = models.CharField(
        max_length=40,
        blank=True,
        validators=[v.validate_query_param],
        help_text="Accept API keys in this query parameter (empty: never from the query string).",
    )
    identity_headers = models.CharField(
        max_length=100,
        blank=True,
        default=",".join(v.IDENTITY_HEADERS),
        validators=[v.validate_identity_headers],
        help_text=f"Sent upstream, comma-separated: {', '.join(v.IDENTITY_HEADERS)}.",
    )
    allow_gateway_users = models.BooleanField(
        default=False, help_text="Accept this gateway's admin API tokens (users linked to a consumer)."
    )
    forward_authorization = models.BooleanField(
        default=False,
        help_text="Pass the client's Authorization header (a verified token) to the backend. Off: it is dropped "
        "and the identity headers name the caller. API keys are never passed on.",
    )
    jwt_issuers = models.ManyToManyField(
        "registry.JwtIssuer", blank=True, related_name="routes", help_text="Empty: every enabled issuer."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path_prefix", "-priority", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def method_list(self) -> tuple[str, ...]:
        return v.parse_methods(self.methods)

    def clean(self) -> None:
        super().clean()
        self.path_prefix = v.normalize_prefix(self.path_prefix or "")
        self.host = (self.host or "").strip().lower()
        try:
            self.methods = ",".join(v.parse_methods(self.methods or ""))
        except ValidationError as exc:
            raise ValidationError({"methods": exc.messages}) from None
        self.clean_auth()
        if not self.path_prefix or not self.enabled:
            return
        # Prefixes are compared as requests are matched: /Orders and /orders take the same requests.
        mine = v.route_tie_key(self.path_prefix, self.host, self.api_version, self.priority)
        others = Route.objects.filter(enabled=True, host=self.host, priority=self.priority).exclude(pk=self.pk)
        for other in others:
            same = v.route_tie_key(other.path_prefix, other.host, other.api_version, other.priority) == mine
            if same and v.methods_overlap(self.method_list, other.method_list):
                raise ValidationError(
                    f"Route {other.name!r} already matches the same host, prefix, version and priority "
                    "for some of these methods; change the priority or the methods so one route wins.",
                    code="conflict",  # with a stored route: the admin API answers 409
                )

    def clean_auth(self) -> None:
        try:
            roles = v.parse_roles(self.required_roles or "")
        except ValidationError:
            roles = ()  # reported by the field's validator
        if roles and self.auth_mode == self.AuthMode.NONE:
            raise ValidationError({"required_roles": "Required roles need an authentication mode."})
        if roles and self.allow_anonymous:
            raise ValidationError({"allow_anonymous": "Anonymous callers hold no roles; drop one or the other."})
        header = (self.api_key_header or "").lower()
        if header in ("authorization", "host", "cookie") or header.startswith("x-consumer-"):
            raise ValidationError({"api_key_header": "Choose a header of its own, such as X-Api-Key."})
        if self.api_key_query_param and self.auth_mode not in (self.AuthMode.API_KEY, self.AuthMode.EITHER):
            raise ValidationError({"api_key_query_param": "Only routes that accept API keys read them from the query."})


class ConfigVersion(models.Model):
    """One row: bumped in the same transaction as every configuration change."""

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"config v{self.version}"


class ConfigRevision(models.Model):
    """What a config version held: the whole declarative configuration (``gateway_export``'s text,
    secrets never included), who made it, from where, and a one-line summary of what changed.
    Written by ``registry.revisions`` after each committed change; rolled back to through the apply path."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "Admin API"
        APPLY = "apply", "gateway_apply"
        ROLLBACK = "rollback", "Rollback"
        SHELL = "shell", "Shell"
        CELERY = "celery", "Celery"

    version = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    summary = models.CharField(max_length=300)
    reason = models.CharField(max_length=500, blank=True, help_text="Why a rollback was made.")
    rolled_back_to = models.BigIntegerField(null=True, blank=True, help_text="The version a rollback restored.")
    # The configuration as JSON text (key order kept, unlike jsonb): written and compared in
    # milliseconds; ``snapshot`` is its YAML, made when asked for (a big table's takes seconds).
    data_json = models.TextField()

    class Meta:
        ordering = ["-version"]
        verbose_name = "config version snapshot"
        verbose_name_plural = "config version history"
        permissions = [
            ("rollback_configrevision", "Can roll the configuration back to a version"),
            ("apply_configrevision", "Can apply a whole configuration file"),
        ]

    def __str__(self) -> str:
        return f"v{self.version}"

    @property
    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.data_json))

    @property
    def snapshot(self) -> str:
        """The configuration in the gateway_apply format."""
        from registry.declarative.export import render

        return render(self.data)


from registry.auth_models import ApiKey, Consumer, JwtIssuer  # noqa: E402
from registry.dynamic_models import ServiceDynamicRoute  # noqa: E402

__all__ = [
    "ApiKey",
    "ConfigRevision",
    "ConfigVersion",
    "Consumer",
    "JwtIssuer",
    "Route",
    "Service",
    "ServiceDynamicRoute",
    "Target",
]
