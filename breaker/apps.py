from __future__ import annotations

from django.apps import AppConfig


class BreakerConfig(AppConfig):
    name = "breaker"
    verbose_name = "Health and circuit breakers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from breaker.board import board
        from proxy import lifespan

        lifespan.add_hooks(board.start, board.stop)
