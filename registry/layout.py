"""The configurable fields of services, targets, routes and consumers, listed once.

Grouped as the admin shows them; the admin's fieldsets, the admin API's fields and the YAML
format's keys are all read from here, followed by the fields of the feature sections attached to the
model (``registry.sections``). A new core setting is a model field plus one name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

from registry.models import Consumer, Route, Service, Target
from registry.sections import Section, sections_of


@dataclass(frozen=True, slots=True)
class Group:
    title: str | None
    fields: tuple[str | tuple[str, ...], ...]
    description: str = ""
    # Shown in the admin only while another field has one of these values: "auth_mode=jwt,either".
    shown_when: str = ""
    # Folded in the admin unless one of its fields has a value.
    collapsed: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for row in self.fields for name in ((row,) if isinstance(row, str) else row))


LAYOUTS: dict[type[models.Model], tuple[Group, ...]] = {
    Service: (
        Group(None, ("name", "slug", "description", "enabled")),
        Group(
            "Upstream",
            ("protocol", "base_path", "lb_algorithm", "preserve_host"),
            "How the gateway reaches this service's targets.",
        ),
        Group(
            "Timeouts and retries",
            ("connect_timeout", "read_timeout", "retries"),
            "Retries go to another target, only for idempotent methods.",
        ),
        Group(
            "TLS to the backend",
            ("tls_ca_bundle", ("tls_client_cert", "tls_client_key"), "tls_server_name"),
            "For https services only; verification is always on. Empty fields use the GATEWAY_UPSTREAM_* "
            "settings. See docs/proxying.md.",
            collapsed=True,
        ),
    ),
    Target: (
        Group(None, ("service", "host", "port")),
        Group("Balancing", ("weight", "enabled"), "A weight of 0 keeps the target idle."),
    ),
    Route: (
        Group(None, ("name", "service", "enabled")),
        Group(
            "Matching",
            ("path_prefix", "host", "methods", "api_version", "version_source", "priority"),
            "An empty host, method list or version matches any request.",
        ),
        Group("Forwarding", ("strip_prefix", ("max_body_bytes", "body_timeout"))),
        Group(
            "Authentication",
            ("auth_mode", "required_roles", "allow_anonymous"),
            "Who may call this route; see docs/authentication.md.",
        ),
        Group(
            "API keys",
            ("api_key_header", "api_key_query_param"),
            "Where else a key may come from.",
            shown_when="auth_mode=api_key,either",
        ),
        Group("JWT", ("allow_gateway_users", "jwt_issuers"), shown_when="auth_mode=jwt,either"),
        Group(
            "Identity sent upstream",
            ("identity_headers", "forward_authorization"),
            shown_when="auth_mode=api_key,jwt,either,introspection",
        ),
    ),
    Consumer: (Group(None, ("name", "roles", "enabled")),),
}
HISTORY = ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)})


def fieldsets(
    model: type[models.Model], *panels: tuple[str, dict[str, Any]], obj: models.Model | None = None
) -> list[tuple[str | None, dict[str, Any]]]:
    """The admin's fieldsets: the model's groups, its sections, then ``panels``, then the history.

    Each feature section is collapsed unless ``obj`` uses it; the classes ``gw-switch`` and
    ``gw-when-<field> gw-is-<value>..`` tell the admin's script (registry/static/registry/guide.js)
    which rows to show as the switches move."""
    out: list[tuple[str | None, dict[str, Any]]] = []
    for group in LAYOUTS[model]:
        options: dict[str, Any] = {"fields": group.fields}
        if group.description:
            options["description"] = group.description
        if group.shown_when:
            field, _, values = group.shown_when.partition("=")
            options["classes"] = (f"gw-when-{field}", *(f"gw-is-{value}" for value in values.split(",")))
        if group.collapsed and not any(getattr(obj, name, None) for name in group.names):
            options["classes"] = (*options.get("classes", ()), "collapse")
        out.append((group.title, options))
    for section in sections_of(model):
        classes = ["gw-section"]
        if section.switch:
            classes.append("gw-switch")
        if obj is None or obj.pk is None or not section.in_use(obj):
            classes.append("collapse")
        out.append((section.title, {"fields": section.layout, "description": section.description, "classes": classes}))
    return [*out, *panels, HISTORY]


def own_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The model's own configurable fields, relations included, in layout order."""
    return tuple(name for group in LAYOUTS[model] for name in group.names)


def plain_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The values a YAML entry holds for the model: its own plain fields, then every section's
    (relations are the format's structure: targets and routes nest in their service)."""
    own = tuple(name for name in own_fields(model) if not model._meta.get_field(name).is_relation)
    return own + tuple(name for section in sections_of(model) for name in section.fields)


def section_of(model: type[models.Model], name: str) -> Section | None:
    return next((s for s in sections_of(model) if name in s.fields), None)
