from __future__ import annotations

from django.apps import AppConfig


class RateLimitConfig(AppConfig):
    name = "ratelimit"
    verbose_name = "Rate limiting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proxy import lifespan
        from ratelimit import checks, fallback, signals  # noqa: F401  (checks register themselves)
        from ratelimit.compile import load_rate_limits
        from registry.routing import register_loader

        signals.connect()
        register_loader("ratelimit", load_rate_limits)
        lifespan.add_hooks(fallback.start, fallback.stop)
