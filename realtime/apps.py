from __future__ import annotations

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Real-time (WebSockets and channels)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proxy import lifespan
        from realtime import checks, counts, live, signals  # noqa: F401  (checks register themselves)
        from realtime.config import NAME, load_realtime
        from registry.routing import register_loader

        register_loader(NAME, load_realtime)
        signals.connect()
        lifespan.add_hooks(live.start, live.stop)
        lifespan.add_hooks(counts.start, counts.stop)
