from __future__ import annotations

from django.apps import AppConfig


class ProxyConfig(AppConfig):
    name = "proxy"
    verbose_name = "Data plane"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib import admin

        from proxy import checks, observe, tracing
        from proxy.metrics import checks as metrics_checks

        del checks, metrics_checks  # imported to register the system checks

        if settings.GATEWAY_METRICS:
            from proxy.metrics.wiring import install

            install()
        if settings.GATEWAY_ACCESS_LOG:
            from proxy import lifespan
            from proxy.access_log import AccessLog

            access_log = AccessLog(settings.GATEWAY_LOG_FORMAT)
            observe.subscribe(access_log)
            lifespan.add_hooks(access_log.start, access_log.stop)
        if settings.GATEWAY_TRACING and not tracing.enabled:
            tracing.configure()
        admin.site.index_template = "proxy/admin_index.html"
