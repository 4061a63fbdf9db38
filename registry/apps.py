from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Gateway configuration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from proxy import lifespan
        from proxy.auth import usage
        from registry import signals
        from registry.declarative import kinds
        from registry.models import JwtIssuer, Route, ServiceDynamicRoute
        from registry.sections import Section, attach
        from registry.services import record_key_usage
        from registry.watch import watcher

        signals.connect()
        kinds.register(
            kinds.Kind(
                "jwt_issuers",
                JwtIssuer,
                "JWT issuer",
                identity=("name",),
                refs={"routes": kinds.Ref(Route, "name", many=True)},  # the routes that name this issuer
                secrets={"secret": "secret_env"},  # HS256: the shared secret, read from this variable
            )
        )
        lifespan.add_hooks(watcher.start, watcher.stop)
        attach(
            Section(
                ServiceDynamicRoute,
                "Dynamic route",
                ("dynamic_route", "dynamic_auth_mode", "dynamic_required_roles", "dynamic_weaker_auth"),
                "ANY /api/v1/{slug}/{path} reaches every path of this service's backend; "
                "see docs/proxying.md and docs/authentication.md.",
                list_filter=("dynamic_route",),
                switch=True,
            )
        )

        async def flush_key_usage() -> None:
            await usage.flush(record_key_usage)

        interval = settings.GATEWAY_API_KEY_USAGE_FLUSH_SECONDS
        lifespan.add_task("key-usage", lifespan.every(interval, flush_key_usage), after=flush_key_usage)
