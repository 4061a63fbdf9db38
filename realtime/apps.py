from __future__ import annotations

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Real-time (WebSockets and channels)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from proxy import lifespan, reserved, table
        from realtime import checks, counts, live  # noqa: F401  (checks register themselves)
        from realtime.backend import open_backend
        from realtime.compile import NAME, accepts_upgrades, load_realtime
        from realtime.fanout import PREFIX
        from realtime.models import Channel, RouteWebSocket
        from registry.declarative import kinds
        from registry.sections import Section, attach
        from registry.services import track_changes
        from registry.snapshot import register_loader

        attach(
            Section(
                RouteWebSocket,
                "WebSocket",
                (
                    "websocket",
                    "websocket_origins",
                    "websocket_token_in",
                    "websocket_max_message_bytes",
                    "websocket_max_connections",
                    "websocket_max_connections_per_consumer",
                    "websocket_idle_timeout",
                ),
                "Upgrades are matched like HTTP and authenticated before the handshake; see docs/websockets.md.",
                list_display=("websocket",),
                list_filter=("websocket",),
                switch=True,
            )
        )
        track_changes(Channel)
        kinds.register(kinds.Kind("channels", Channel, "channel rule", identity=("pattern",)))
        register_loader(NAME, load_realtime)
        # A route that accepts upgrades gets its policies in front of the backend's WebSocket.
        table.register_entry("websocket", open_backend, accepts_upgrades)
        reserved.reserve(PREFIX)  # the channel fan-out endpoint, served below Django
        lifespan.add_hooks(live.start, live.stop)
        if settings.REDIS_URL:
            writer = counts.CountsWriter(settings.GATEWAY_REALTIME_COUNTS_INTERVAL)
            every = lifespan.every(writer.interval, writer.write)
            lifespan.add_task("realtime-counts", every, before=writer.write, after=writer.forget)
