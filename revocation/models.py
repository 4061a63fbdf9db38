"""Revoked JWTs (by ``jti``, or every token of a subject issued before a time) and the admin's own
sign-ins (browser sessions and admin API tokens), which an admin can see and end."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class JwtRevocation(models.Model):
    class Kind(models.TextChoices):
        JTI = "jti", "one token (by jti)"
        SUBJECT = "subject", "every token of a subject issued before a time"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(
        max_length=255, help_text="The token's jti, or the subject (sub; a user id for this gateway's own tokens)."
    )
    issuer = models.CharField(
        max_length=255,
        blank=True,
        help_text="The tokens' iss ('gateway' for this gateway's own admin API tokens); empty: every issuer.",
    )
    issued_before = models.DateTimeField(
        null=True, blank=True, help_text="Subject: tokens issued (iat) before this are refused. Empty: now."
    )
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the entry may be forgotten: the token's exp (jti), or when the last token issued "
        "before the time expires (subject). Empty: GATEWAY_JWT_REVOCATION_SECONDS from now.",
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "revoked JWT"
        verbose_name_plural = "revoked JWTs"
        constraints = [
            models.UniqueConstraint(fields=("kind", "value", "issuer"), name="one_revocation_per_token_or_subject")
        ]

    def __str__(self) -> str:
        where = f" ({self.issuer})" if self.issuer else ""
        return f"{self.kind} {self.value}{where}"

    def clean(self) -> None:
        if self.kind == self.Kind.JTI and self.issued_before is not None:
            raise ValidationError({"issued_before": "Only a subject revocation has a time; a jti names one token."})
        if self.value != self.value.strip() or not self.value:
            raise ValidationError({"value": "Give the jti or subject without surrounding spaces."})
        if self.issued_before and self.expires_at and self.expires_at <= self.issued_before:
            raise ValidationError({"expires_at": "The entry must outlive the time it revokes before."})


class AdminSession(models.Model):
    """One sign-in of an admin: a browser session or an admin API token pair. Written by the gateway
    at sign-in; an admin ends it (deletes it here), which signs the browser out or revokes the tokens."""

    class Kind(models.TextChoices):
        SESSION = "session", "admin session"
        API_TOKEN = "api_token", "admin API token"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="admin_sessions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The session key, or the refresh token's jti. Never shown: it is the credential's handle.
    key = models.CharField(max_length=64, unique=True)
    # jti and exp (epoch seconds) of each access token issued from this sign-in (API tokens).
    access_tokens = models.JSONField(default=list, blank=True)
    address = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")
        verbose_name = "admin sign-in"
        verbose_name_plural = "admin sign-ins (sessions and API tokens)"

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} of {self.user} from {self.address or '?'} at {self.started_at:%Y-%m-%d %H:%M}"
        )
