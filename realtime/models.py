"""Who may subscribe to which fan-out channels (``WS /ws/{client_id}``)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from registry import validators as v

PATTERN_RE = re.compile(r"^[A-Za-z0-9._*-]{1,80}$")


def validate_pattern(value: str) -> None:
    if not PATTERN_RE.match(value):
        raise ValidationError(
            "Use letters, digits, '.', '_', '-' and '*' (any run of characters), e.g. orders.* ; at most 80.",
            code="channel_pattern",
        )


class Channel(models.Model):
    """A channel pattern and the roles allowed to subscribe to the channels it matches.

    A subscription is allowed when an enabled pattern matches the channel name and the caller holds
    one of its roles (an empty role list: any authenticated caller). No match: refused.
    """

    pattern = models.CharField(
        max_length=80,
        unique=True,
        validators=[validate_pattern],
        help_text="Channel names it covers; '*' matches any run of characters, e.g. orders.* or prices.eur",
    )
    roles = models.CharField(
        max_length=500,
        blank=True,
        validators=[v.validate_roles],
        help_text="Comma-separated; a subscriber needs one of them. Empty: any authenticated caller.",
    )
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pattern"]

    def __str__(self) -> str:
        return self.pattern
