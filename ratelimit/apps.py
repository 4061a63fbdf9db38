from __future__ import annotations

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
        from registry.services import track_changes
        from registry.snapshot import register_loader

        track_changes(RatePolicy, "routes", "services", "consumers")
        register_loader("ratelimit", load_rate_limits)
        lifespan.add_hooks(fallback.start, fallback.stop)
        environment.read()  # a malformed GLOBAL_/USER_RATE_LIMIT_* stops the start here, naming it
        lifespan.add_hooks(environment.start, None)
