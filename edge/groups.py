"""The four groups of edge settings as abstract models: CORS, security headers, IP lists,
transformations. ``edge.models`` makes them concrete for routes, services, the defaults and
consumers; their validators (``edge.validators``) and ``clean()`` are the only checks, shared by
the admin, the admin API and ``gateway_apply``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models

from edge import cors, transform
from edge import validators as ev
from edge.security_headers import CUSTOM, INHERIT, OFF, RECOMMENDED, REFERRER_POLICIES, check_hsts

LIST_HELP = "One per line or comma-separated."
PAIRS_HELP = "One 'Name: value' per line; values may use {consumer_id}, {consumer_name}, {route}, {service}, " \
    "{request_id}, {client_address}."  # fmt: skip


class Switch(models.TextChoices):
    INHERIT = INHERIT, "Inherit"
    ON = "on", "On"
    OFF = OFF, "Off"


class SecurityMode(models.TextChoices):
    INHERIT = INHERIT, "Inherit"
    OFF = OFF, "Off"
    RECOMMENDED = RECOMMENDED, "Recommended profile (fields below override it)"
    CUSTOM = CUSTOM, "Custom (only the fields below)"


def request_remove_field() -> Any:
    return models.TextField(blank=True, validators=[ev.validate_request_names], help_text="Header names. " + LIST_HELP)


def request_set_field() -> Any:
    return models.TextField(
        blank=True, validators=[ev.validate_request_values], help_text="Replaces the client's. " + PAIRS_HELP
    )


def request_add_field() -> Any:
    return models.TextField(blank=True, validators=[ev.validate_request_values], help_text=PAIRS_HELP)


def switch(label: str, help_text: str, *, inherit: bool = True, default: str = Switch.INHERIT) -> Any:
    # Inherit is "" (blank), as in other sections: a form or file that leaves the field out inherits.
    choices = Switch.choices if inherit else Switch.choices[1:]
    return models.CharField(label, max_length=8, blank=inherit, choices=choices, default=default, help_text=help_text)


def security_mode(*, inherit: bool = True) -> Any:
    return models.CharField(
        max_length=12,
        blank=inherit,
        choices=SecurityMode.choices if inherit else SecurityMode.choices[1:],
        default=SecurityMode.INHERIT if inherit else SecurityMode.OFF,
        help_text="Recommended: HSTS, nosniff, DENY framing, no referrer, a locked-down CSP and Permissions-Policy, "
        "no Server/X-Powered-By.",
    )


LOCATION_HELP = "Location and Content-Location naming a target's own address point at the gateway instead."


class CorsFields(models.Model):
    cors = switch("CORS", "Inherit: as the next level up.")
    cors_origins = models.TextField(
        "allowed origins",
        blank=True,
        validators=[ev.validate_origins],
        help_text="https://app.example.com, https://*.example.com (subdomains) or * (any, never with credentials). "
        + LIST_HELP,
    )
    cors_methods = models.CharField(
        "allowed methods",
        max_length=200,
        blank=True,
        validators=[ev.validate_methods],
        help_text="Empty: the route's methods (GET, HEAD, POST, PUT, PATCH, DELETE when it allows any).",
    )
    cors_allow_headers = models.TextField(
        "allowed request headers",
        blank=True,
        validators=[ev.validate_cors_headers],
        help_text="Empty: whatever the browser asks for. " + LIST_HELP,
    )
    cors_expose_headers = models.TextField(
        "exposed response headers", blank=True, validators=[ev.validate_cors_headers], help_text=LIST_HELP
    )
    cors_credentials = models.BooleanField(
        "allow credentials", default=False, help_text="Cookies and Authorization on cross-origin calls."
    )
    cors_max_age = models.PositiveIntegerField(
        "preflight max age",
        null=True,
        blank=True,
        validators=[MaxValueValidator(86_400)],
        help_text="Seconds browsers may cache a preflight answer; empty: their default (5 s).",
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        if self.cors != Switch.ON:
            return
        origins = cors.parse_origins(self.cors_origins)
        if not origins:
            raise ValidationError({"cors_origins": "List at least one origin, or turn CORS off."})
        if self.cors_credentials:
            if cors.ANY in origins:
                raise ValidationError(
                    {"cors_origins": "'*' with credentials is refused (Fetch standard); list the origins."}
                )
            for name in ("cors_allow_headers", "cors_expose_headers"):
                if cors.parse_header_list(getattr(self, name)) == (cors.ANY,):
                    raise ValidationError({name: "'*' means a header named '*' when credentials are allowed."})


class SecurityFields(models.Model):
    security_headers = security_mode()
    hsts_max_age = models.PositiveIntegerField(
        "HSTS max age",
        null=True,
        blank=True,
        validators=[MaxValueValidator(63_072_000)],
        help_text="Seconds; sent on HTTPS answers only. Empty: the profile's year, or no HSTS (custom).",
    )
    hsts_include_subdomains = models.BooleanField("HSTS includeSubDomains", default=False)
    hsts_preload = models.BooleanField("HSTS preload", default=False)
    content_type_options = models.BooleanField("X-Content-Type-Options: nosniff", default=False)
    frame_options = models.CharField(
        "X-Frame-Options", max_length=10, blank=True, choices=[("DENY", "DENY"), ("SAMEORIGIN", "SAMEORIGIN")]
    )
    referrer_policy = models.CharField(
        "Referrer-Policy", max_length=40, blank=True, choices=[(p, p) for p in REFERRER_POLICIES]
    )
    content_security_policy = models.CharField(
        "Content-Security-Policy", max_length=2000, blank=True, validators=[ev.validate_policy_value]
    )
    permissions_policy = models.CharField(
        "Permissions-Policy", max_length=2000, blank=True, validators=[ev.validate_policy_value]
    )
    hide_server_headers = models.BooleanField(
        "remove Server and X-Powered-By", default=False, help_text="From backend answers."
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        errors = check_hsts(self.hsts_max_age, self.hsts_include_subdomains, self.hsts_preload)
        if errors:
            raise ValidationError(errors)


class IpListFields(models.Model):
    ip_allow = models.TextField(
        "IP allow list",
        blank=True,
        validators=[ev.validate_networks],
        help_text="CIDRs or addresses, IPv4 or IPv6; only they may call. Empty: anyone not denied. " + LIST_HELP,
    )
    ip_deny = models.TextField(
        "IP deny list",
        blank=True,
        validators=[ev.validate_networks],
        help_text="Refused with 403, even when allowed. " + LIST_HELP,
    )

    class Meta:
        abstract = True


class TransformFields(models.Model):
    request_headers_remove = request_remove_field()
    request_headers_rename = models.TextField(
        blank=True, validators=[ev.validate_request_renames], help_text="One 'Old-Name: New-Name' per line."
    )
    request_headers_set = request_set_field()
    request_headers_add = request_add_field()
    query_remove = models.TextField(
        "query parameters to remove", blank=True, validators=[ev.validate_query_names], help_text=LIST_HELP
    )
    query_add = models.TextField(
        "query parameters to add",
        blank=True,
        validators=[ev.validate_query_values],
        help_text="One 'name=value' per line; values may use the same placeholders as headers.",
    )
    path_rewrite = models.CharField(
        "path rewrite pattern",
        max_length=transform.MAX_PATTERN,
        blank=True,
        validators=[ev.validate_pattern],
        help_text="A regular expression over the path the backend gets, e.g. ^/v1/(.*)$ ; no match: unchanged.",
    )
    path_rewrite_to = models.CharField(
        "path rewrite replacement", max_length=300, blank=True, help_text=r"e.g. /api/\1 (groups: \1, \g<name>)."
    )
    response_headers_remove = models.TextField(
        blank=True, validators=[ev.validate_response_names], help_text="Header names. " + LIST_HELP
    )
    response_headers_set = models.TextField(
        blank=True, validators=[ev.validate_response_values], help_text="Replaces the backend's. " + PAIRS_HELP
    )
    response_headers_add = models.TextField(blank=True, validators=[ev.validate_response_values], help_text=PAIRS_HELP)
    rewrite_location = switch("rewrite Location", LOCATION_HELP + " On unless turned off.")

    class Meta:
        abstract = True

    def clean(self) -> None:
        if bool(self.path_rewrite) != bool(self.path_rewrite_to):
            field = "path_rewrite_to" if self.path_rewrite else "path_rewrite"
            raise ValidationError({field: "Give both the pattern and its replacement, or neither."})
        if self.path_rewrite:
            try:
                transform.parse_replacement(self.path_rewrite_to, transform.parse_pattern(self.path_rewrite))
            except ValidationError as exc:
                raise ValidationError({"path_rewrite_to": exc.messages}) from None
