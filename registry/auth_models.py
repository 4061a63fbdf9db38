"""Who may call routes: consumers, their API keys, and the JWT issuers the gateway trusts.

Only a keyed hash of each API key is stored (see ``proxy.auth.apikeys``); the full key is shown once.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from registry import validators as v


class Consumer(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[v.validate_consumer_name])
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consumer",
        help_text="Admin API tokens of this user authenticate as this consumer on routes that allow gateway users.",
    )
    roles = models.CharField(
        max_length=500,
        blank=True,
        validators=[v.validate_roles],
        help_text="Comma-separated roles or scopes, e.g. orders:read,orders:write.",
    )
    enabled = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def role_list(self) -> tuple[str, ...]:
        return v.parse_roles(self.roles)


class ApiKey(models.Model):
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Public part of the key.")
    digest = models.CharField(max_length=64, editable=False, help_text="HMAC-SHA256 of the key; never the key.")
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Stops working at this time (empty: never).")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["consumer__name", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"gw_{self.prefix}_… ({self.label or self.consumer})"

    @property
    def active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class JwtIssuer(models.Model):
    class Algorithm(models.TextChoices):
        HS256 = "HS256", "HS256 (shared secret)"
        RS256 = "RS256", "RS256 (RSA public key)"
        ES256 = "ES256", "ES256 (EC P-256 public key)"

    name = models.CharField(max_length=100, unique=True)
    issuer = models.CharField("iss", max_length=255, help_text="Required value of the token's iss claim.")
    audience = models.CharField("aud", max_length=255, help_text="Required value in the token's aud claim.")
    algorithm = models.CharField(max_length=5, choices=Algorithm.choices, default=Algorithm.RS256)
    secret = models.CharField(max_length=512, blank=True, help_text="HS256 only: the shared secret.")
    public_key = models.TextField(blank=True, help_text="RS256/ES256: a PEM public key (or use a JWKS URL).")
    key_id = models.CharField("kid", max_length=100, blank=True, help_text="kid of the PEM key (empty: any).")
    jwks_url = models.URLField(blank=True, help_text="RS256/ES256: fetched by the control plane, never by tokens.")
    leeway = models.PositiveIntegerField(default=30, validators=[MaxValueValidator(600)], help_text="Seconds.")
    roles_claim = models.CharField(
        max_length=100, default="roles", help_text="Claim holding roles: a list, or a space-separated string."
    )
    accepted_types = models.CharField(
        "accepted typ values",
        max_length=200,
        default="JWT, at+jwt",
        validators=[v.validate_token_types],
        help_text="Comma-separated values of the token header's typ (case-insensitive, 'application/' ignored); "
        "a token with another typ is refused (RFC 8725 3.11).",
    )
    allow_untyped = models.BooleanField(
        "accept tokens without typ",
        default=False,
        help_text="For issuers whose access tokens carry no typ header; refresh and ID tokens are still refused.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "JWT issuer"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.algorithm == self.Algorithm.HS256:
            if len(self.secret) < 32:
                raise ValidationError({"secret": "HS256 needs a secret of at least 32 characters."})
            if self.public_key or self.jwks_url:
                raise ValidationError("HS256 uses the secret only; clear the public key and JWKS URL.")
        else:
            if self.secret:
                raise ValidationError({"secret": "Only HS256 uses a secret."})
            if bool(self.public_key.strip()) == bool(self.jwks_url):
                raise ValidationError("Give either a PEM public key or a JWKS URL.")
            if self.public_key.strip():
                from proxy.auth.jwt import load_public_key

                try:
                    load_public_key(self.public_key, self.algorithm)
                except ValueError as exc:
                    raise ValidationError({"public_key": str(exc)}) from None
