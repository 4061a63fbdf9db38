from __future__ import annotations

from django.apps import AppConfig

CORS_LAYOUT = (
    "cors",
    "cors_origins",
    "cors_methods",
    ("cors_allow_headers", "cors_expose_headers"),
    ("cors_credentials", "cors_max_age"),
)
SECURITY_LAYOUT = (
    "security_headers",
    ("hsts_max_age", "hsts_include_subdomains", "hsts_preload"),
    ("content_type_options", "frame_options", "referrer_policy"),
    "content_security_policy",
    "permissions_policy",
    "hide_server_headers",
)
IP_LAYOUT = (("ip_allow", "ip_deny"),)
TRANSFORM_LAYOUT = (
    ("request_headers_remove", "request_headers_rename"),
    ("request_headers_set", "request_headers_add"),
    ("query_remove", "query_add"),
    ("path_rewrite", "path_rewrite_to"),
    "response_headers_remove",
    ("response_headers_set", "response_headers_add"),
    "rewrite_location",
)


class EdgeConfig(AppConfig):
    name = "edge"
    verbose_name = "Edge policies (CORS, security headers, IP lists, transformations)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from edge import checks, environment  # noqa: F401  (checks register themselves)

        environment.read()  # a malformed CORS_ORIGINS stops the start here, naming it
        from edge import models as m
        from edge.compile import NAME, load_edge
        from registry.declarative import kinds
        from registry.models import Consumer
        from registry.sections import Section, attach
        from registry.services import track_changes
        from registry.snapshot import register_loader

        docs = "see docs/edge-policies.md"
        for owner, up in (("Route", "its service"), ("Service", "the edge defaults")):
            inherit = f"Inherit: as {up}."
            attach(
                Section(
                    getattr(m, f"{owner}Cors"),
                    "CORS",
                    CORS_LAYOUT,
                    f"{inherit} Preflights are answered by the gateway; {docs}.",
                    switch=True,
                )
            )
            attach(
                Section(
                    getattr(m, f"{owner}SecurityHeaders"),
                    "Security headers",
                    SECURITY_LAYOUT,
                    f"{inherit} {docs}.",
                    switch=True,
                )
            )
            attach(
                Section(
                    getattr(m, f"{owner}IpLists"),
                    "IP allow and deny lists",
                    IP_LAYOUT,
                    f"Checked before authentication on the client address (behind trusted proxies). An allow list "
                    f"here replaces {up}'s; deny lists add up. {docs}.",
                )
            )
            attach(
                Section(
                    getattr(m, f"{owner}Transform"),
                    "Transformations",
                    TRANSFORM_LAYOUT,
                    f"Removals and additions add up with {up}'s; a set or rename here wins. {docs}.",
                )
            )
        track_changes(m.EdgeDefaults)
        track_changes(m.ConsumerEdge)
        kinds.register(kinds.Kind("edge_defaults", m.EdgeDefaults, "edge defaults", singleton=True))
        kinds.register(
            kinds.Kind(
                "consumer_edge",
                m.ConsumerEdge,
                "consumer edge settings",
                identity=("consumer",),
                refs={"consumer": kinds.Ref(Consumer, "name")},
            )
        )
        register_loader(NAME, load_edge)
