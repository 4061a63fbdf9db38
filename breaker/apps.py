from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings


class BreakerConfig(AppConfig):
    name = "breaker"
    verbose_name = "Health and circuit breakers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from breaker.board import board
        from proxy import lifespan

        lifespan.add_hooks(board.start, board.stop)
        if settings.GATEWAY_METRICS:
            from breaker.metrics import BreakerCollector, service_states
            from proxy.metrics import sources

            sources.add_collector(BreakerCollector())
            sources.add_service_states(service_states)
