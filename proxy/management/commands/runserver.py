"""``manage.py runserver``: the development server, through Channels' daphne, so that proxied routes
and WebSockets work as under uvicorn. Production serves with ``python -m gateway_project.serve``
(uvicorn, for the reasons measured in docs/architecture.md).

Daphne does not speak the ASGI lifespan protocol, so the gateway's start hooks (the config watcher,
the upstream session, every app's background tasks) run when the first connection arrives. Without
daphne (a production image installs none) this is Django's own runserver: the admin only.
"""

from __future__ import annotations

from typing import Any

from proxy.lifespan import StartedOnFirstUse

try:
    from daphne.management.commands.runserver import Command as DevelopmentServer
except ImportError:  # pragma: no cover - development dependency only
    from django.contrib.staticfiles.management.commands.runserver import Command as DevelopmentServer


class Command(DevelopmentServer):
    def get_application(self, options: dict[str, Any]) -> Any:
        return StartedOnFirstUse(super().get_application(options))
