"""Who may subscribe to which fan-out channels (``WS /ws/{client_id}``), and routes' WebSocket settings."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from registry import validators as v
from registry.models import Route

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


class RouteWebSocket(models.Model):
    """A route's WebSocket settings, a section of the route's page, API object and YAML entry
    (``realtime.apps``). A route without a row refuses upgrades."""

    class TokenIn(models.TextChoices):
        HEADERS = "", "Headers only"
        PROTOCOL = "protocol", "Sec-WebSocket-Protocol"
        QUERY = "query", "access_token query parameter"
        BOTH = "both", "Sec-WebSocket-Protocol or query parameter"

    route = models.OneToOneField(Route, on_delete=models.CASCADE, primary_key=True, related_name="websocket_settings")
    websocket = models.BooleanField(
        "allow WebSocket", default=False, help_text="Proxy WebSocket upgrades on this route (docs/websockets.md)."
    )
    websocket_origins = models.CharField(
        "allowed origins",
        max_length=1000,
        blank=True,
        validators=[v.validate_origins],
        help_text="Comma-separated, e.g. https://app.example.com; * allows any; empty: only the gateway's own host. "
        "Clients that send no Origin (not browsers) are not checked.",
    )
    websocket_token_in = models.CharField(
        "credentials also from",
        max_length=10,
        blank=True,
        choices=TokenIn.choices,
        default=TokenIn.HEADERS,
        help_text="Browsers cannot set headers: allow the credential in a 'bearer.<token>' subprotocol "
        "and/or the access_token query parameter.",
    )
    websocket_max_message_bytes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Largest message either way (close 1009); empty: the setting's default."
    )
    websocket_max_connections = models.PositiveIntegerField(
        null=True, blank=True, help_text="Open connections on this route per gateway process; empty: the default."
    )
    websocket_max_connections_per_consumer = models.PositiveIntegerField(
        null=True, blank=True, help_text="Open connections per consumer per gateway process; empty: the default."
    )
    websocket_idle_timeout = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1)],
        help_text="Seconds without a message either way before the gateway closes (1001); empty: the default.",
    )

    class Meta:
        verbose_name = "WebSocket settings"
        verbose_name_plural = "WebSocket settings"

    def __str__(self) -> str:
        return f"WebSocket settings of {self.route}"

    def clean(self) -> None:
        route = self.route
        if self.websocket_token_in and route.auth_mode == Route.AuthMode.NONE:
            raise ValidationError({"websocket_token_in": "Only routes with an authentication mode read credentials."})
