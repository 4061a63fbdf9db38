from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings


class BreakerConfig(AppConfig):
    name = "breaker"
    verbose_name = "Health and circuit breakers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from breaker import environment
        from breaker.board import board
        from breaker.compile import NAME, load_breakers
        from breaker.models import ServiceBreaker, TargetBreaker
        from proxy import lifespan
        from registry.sections import Section, attach
        from registry.snapshot import register_loader

        environment.read()  # a malformed CIRCUIT_BREAKER_FAILURE_THRESHOLD stops the start here, naming it
        attach(
            Section(
                ServiceBreaker,
                "Circuit breaker and health checks",
                (
                    "breaker_enabled",
                    ("breaker_failures", "breaker_failure_ratio", "breaker_min_calls", "breaker_window"),
                    "breaker_failure_statuses",
                    ("breaker_open_seconds", "breaker_max_open_seconds"),
                    ("breaker_half_open_probes", "breaker_half_open_successes"),
                    ("health_check_path", "health_check_method"),
                    "health_check_statuses",
                    ("health_check_timeout", "health_check_interval"),
                    ("health_check_healthy_successes", "health_check_unhealthy_failures"),
                ),
                "Breakers are per target (a target may override the failures and the open period); health "
                "checks are probed by the Celery sweep (Periodic tasks: gateway health sweep)." + environment.note(),
            )
        )
        attach(Section(TargetBreaker, "Circuit breaker overrides", ("breaker_failures", "breaker_open_seconds")))
        register_loader(NAME, load_breakers)
        every = lifespan.every(lambda: settings.GATEWAY_HEALTH_POLL_INTERVAL, board.refresh)
        # At shutdown the last refresh writes the breaker events seen since the one before.
        lifespan.add_task("health-board", every, before=board.refresh, after=board.refresh)
        if settings.GATEWAY_METRICS:
            from breaker.metrics import BreakerCollector, service_states
            from proxy.metrics import sources

            sources.add_collector(BreakerCollector())
            sources.add_service_states(service_states)
