"""A route's response cache settings (a section of the route), and the record of every purge.

``RouteCache`` is a section of the route's admin page, API object and YAML entry (``cache.apps``,
``registry.sections``): a route without a row, or with ``cache_enabled`` off, is not cached and
gets no cache step. ``CachePurge`` rows are the purges asked for (admin, admin API) or made when a
cached route's configuration changed; saving one is journaled in the audit chain like any tracked
change, and the version bump it makes is how every process's in-memory store learns of it.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from registry import validators as v
from registry.models import Route

CACHEABLE_METHODS = ("GET", "HEAD")
DEFAULT_TTL = 60
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_METHODS = "GET,HEAD"
DEFAULT_STATUSES = "200,203,204,300,301,404,410"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9-]+$")
_PARAM_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]]+\*?$")
_TAG_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


def split_list(value: str) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@v.beyond_schema
def validate_cache_methods(value: str) -> None:
    methods = v.parse_methods(value)
    wrong = [m for m in methods if m not in CACHEABLE_METHODS]
    if wrong:
        raise ValidationError("Cacheable methods are GET and HEAD (HEAD is answered from GET's entry).")


@v.beyond_schema
def validate_header_names(value: str) -> None:
    bad = [name for name in split_list(value) if not _TOKEN_RE.match(name)]
    if bad:
        raise ValidationError(f"Not header names: {', '.join(bad)} (letters, digits and hyphens).")


@v.beyond_schema
def validate_query_names(value: str) -> None:
    bad = [name for name in split_list(value) if not _PARAM_RE.match(name)]
    if bad:
        raise ValidationError(f"Not query parameter names: {', '.join(bad)} (a trailing * matches a prefix).")


@v.beyond_schema
def validate_tag(value: str) -> None:
    if value and not _TAG_RE.match(value):
        raise ValidationError("A tag is 1-200 visible ASCII characters without spaces.")


class RouteCache(models.Model):
    """A route's response cache; see docs/caching.md."""

    route = models.OneToOneField(Route, on_delete=models.CASCADE, primary_key=True, related_name="cache_settings")
    cache_enabled = models.BooleanField(
        "cache responses", default=False, help_text="Answer GET/HEAD from the response cache (docs/caching.md)."
    )
    # Empty fields mean the defaults below (as in a form posted without them): a route's row only
    # holds what differs.
    cache_ttl = models.PositiveIntegerField(
        "default TTL",
        null=True,
        blank=True,
        help_text=f"Seconds an answer stays fresh when the backend gives no Cache-Control max-age or Expires; "
        f"0: store only what the backend says may be; empty: {DEFAULT_TTL}.",
    )
    cache_max_object_bytes = models.PositiveIntegerField(
        "largest object",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=f"Bytes; larger bodies stream through uncached; empty: {DEFAULT_MAX_BYTES}.",
    )
    cache_methods = models.CharField(
        "cacheable methods",
        max_length=20,
        blank=True,
        validators=[validate_cache_methods],
        help_text=f"Empty: {DEFAULT_METHODS} (HEAD is answered from GET's entry).",
    )
    cache_statuses = models.CharField(
        "cacheable statuses",
        max_length=200,
        blank=True,
        validators=[v.validate_statuses],
        help_text=f"Backend statuses that may be stored, e.g. 200,404 or 200-299; empty: {DEFAULT_STATUSES}.",
    )
    cache_vary_headers = models.CharField(
        "vary on",
        max_length=500,
        blank=True,
        validators=[validate_header_names],
        help_text="Request headers that select a variant, e.g. Accept-Language. A backend's own Vary is always "
        "honoured: without the header here the cache keeps one variant per URL and checks it on each hit.",
    )
    cache_ignore_query = models.CharField(
        "ignored query parameters",
        max_length=500,
        blank=True,
        validators=[validate_query_names],
        help_text="Left out of the key, e.g. utm_*,fbclid (a trailing * matches a prefix).",
    )
    cache_shared = models.BooleanField(
        "shared between consumers",
        default=False,
        help_text="On a route with authentication, one entry serves every consumer the route admits; "
        "off (the default): one entry per consumer.",
    )
    cache_credentials = models.BooleanField(
        "cache per credential",
        default=False,
        help_text="Also store answers to requests carrying Authorization or Cookie the gateway did not check, "
        "and answers marked private or setting cookies, each for that caller only.",
    )
    cache_stale_if_error = models.PositiveIntegerField(
        "stale if error",
        null=True,
        blank=True,
        help_text="Seconds past expiry an entry may answer when the backend fails (5xx, timeout, open breaker) "
        "and gives no stale-if-error of its own; empty or 0: only what the backend allows.",
    )

    class Meta:
        verbose_name = "response cache settings"
        verbose_name_plural = "response cache settings"

    def __str__(self) -> str:
        return f"response cache of {self.route}"


class CachePurge(models.Model):
    """One purge: by route, by path prefix (of a route, or of every route) or by tag."""

    class Kind(models.TextChoices):
        ROUTE = "route", "Every entry of a route"
        PREFIX = "prefix", "Paths under a prefix"
        TAG = "tag", "Entries with a tag"

    class Reason(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ROUTE_CHANGED = "route_changed", "Route configuration changed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    route = models.ForeignKey(
        Route, null=True, blank=True, on_delete=models.SET_NULL, related_name="cache_purges", db_constraint=False
    )
    route_key = models.CharField(max_length=30, blank=True, help_text="r<route id>; empty: every route.")
    route_name = models.CharField(max_length=100, blank=True, help_text="The route's name at the time.")
    prefix = models.CharField(
        max_length=1000,
        blank=True,
        validators=[v.validate_plain_path],
        help_text="A request path prefix, e.g. /products/.",
    )
    tag = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_tag],
        help_text="From the backend's Surrogate-Key or Cache-Tag.",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.REQUESTED)
    removed = models.IntegerField(
        null=True, blank=True, help_text="Entries removed from Redis; empty: each process's memory store does it."
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "cache purge"

    def __str__(self) -> str:
        what = {"route": self.route_name, "prefix": f"{self.route_name or 'every route'} {self.prefix}"}
        return f"purge {self.kind} {what.get(self.kind, self.tag)}".strip()

    def clean(self) -> None:
        if self.kind == self.Kind.ROUTE and self.route_id is None and not self.route_key:
            raise ValidationError({"route": "Choose the route to purge."})
        if self.kind == self.Kind.PREFIX and not self.prefix:
            raise ValidationError({"prefix": "Enter the path prefix to purge, e.g. /products/."})
        if self.kind == self.Kind.TAG and not self.tag:
            raise ValidationError({"tag": "Enter the tag to purge."})
