from __future__ import annotations

from django.apps import AppConfig


class ProxyConfig(AppConfig):
    name = "proxy"
    verbose_name = "Data plane"

    def ready(self) -> None:
        from django.conf import settings

        from proxy import checks, disconnects, lifespan, observe, tracing, upstream
        from proxy.auth import credentials
        from proxy.metrics import checks as metrics_checks

        del checks, metrics_checks  # imported to register the system checks

        lifespan.add_hooks(upstream.open_session, upstream.close_session)
        lifespan.add_task("upstream-idle-sweeper", lifespan.every(5.0, upstream.sweep_idle))
        lifespan.add_task("disconnect-sweeper", disconnects.sweep)
        lifespan.add_hooks(None, credentials.close)
        if settings.GATEWAY_METRICS:
            from proxy.metrics.wiring import install

            install()
        if settings.GATEWAY_ACCESS_LOG:
            from proxy.access_log import FLUSH_SECONDS, AccessLog

            access_log = AccessLog(settings.GATEWAY_LOG_FORMAT)
            observe.subscribe(access_log)
            flush = lifespan.as_hook(access_log.flush)
            lifespan.add_task("access-log", lifespan.every(FLUSH_SECONDS, access_log.flush), after=flush)
        if settings.GATEWAY_TRACING and not tracing.enabled:
            tracing.configure()
