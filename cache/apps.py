from __future__ import annotations

from django.apps import AppConfig


class CacheConfig(AppConfig):
    name = "cache"
    verbose_name = "Response cache"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from cache import checks, signals, stores  # noqa: F401  (checks register themselves)
        from cache.compile import NAME, load_cache
        from cache.models import CachePurge, RouteCache
        from proxy import lifespan
        from registry.sections import Section, attach
        from registry.services import track_changes
        from registry.snapshot import register_loader

        attach(
            Section(
                RouteCache,
                "Response cache",
                (
                    "cache_enabled",
                    ("cache_ttl", "cache_stale_if_error", "cache_max_object_bytes"),
                    ("cache_methods", "cache_statuses"),
                    ("cache_vary_headers", "cache_ignore_query"),
                    ("cache_shared", "cache_credentials"),
                ),
                "RFC 9111 caching in Redis (or this process's memory): see docs/caching.md.",
                list_display=("cache_enabled",),
                list_filter=("cache_enabled",),
                switch=True,
            )
        )
        # A purge is journaled like a config change, and its version bump reaches every process's memory store.
        track_changes(CachePurge)
        register_loader(NAME, load_cache)
        signals.connect()
        lifespan.add_hooks(stores.start, stores.stop)
        if settings.GATEWAY_METRICS:
            from cache.overview import hit_ratio_column
            from proxy.metrics import sources

            sources.add_overview_column(hit_ratio_column)
