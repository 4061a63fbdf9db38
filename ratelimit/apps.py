from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class RateLimitConfig(AppConfig):
    name = "ratelimit"
    verbose_name = "Rate limiting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proxy import lifespan
        from ratelimit import checks, environment, fallback  # noqa: F401  (checks register themselves)
        from ratelimit.compile import load_rate_limits
        from ratelimit.models import RatePolicy
        from registry.declarative import kinds
        from registry.models import Consumer, Route, Service
        from registry.services import track_changes
        from registry.snapshot import register_loader

        track_changes(RatePolicy, "routes", "services", "consumers")
        kinds.register(
            kinds.Kind(
                "rate_policies",
                RatePolicy,
                "rate policy",
                identity=("name",),
                refs={
                    "routes": kinds.Ref(Route, "name", many=True),
                    "services": kinds.Ref(Service, "slug", many=True),
                    "consumers": kinds.Ref(Consumer, "name", many=True),
                },
                check=_attached,
                where={"from_environment": False},  # env-global / env-user: the environment's, not the file's
            )
        )
        register_loader("ratelimit", load_rate_limits)
        lifespan.add_hooks(fallback.start, fallback.stop)
        environment.read()  # a malformed GLOBAL_/USER_RATE_LIMIT_* stops the start here, naming it
        lifespan.add_hooks(environment.start, None)


def _attached(values: Mapping[str, Any]) -> dict[str, str]:
    from ratelimit.models import attachment_error

    error = attachment_error(values["all_routes"], values["routes"], values["services"], values["consumers"])
    return {"all_routes": error} if error else {}
