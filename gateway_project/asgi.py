"""ASGI entry point: the gateway's data plane in front of Django.

    http      -> proxy.app.GatewayApp -> (paths Django owns) -> static files / Django
    websocket -> refused until WebSocket routes exist
    lifespan  -> proxy.lifespan (config watcher, upstream session)

Serve with uvicorn and the gateway's protocol class, for example:
    uvicorn gateway_project.asgi:application --http proxy.server:GatewayHttpToolsProtocol --lifespan on
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

from django.core.asgi import get_asgi_application

django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from proxy.app import GatewayApp  # noqa: E402
from proxy.lifespan import lifespan  # noqa: E402


async def refuse_websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008, "reason": "no WebSocket routes"})


application = ProtocolTypeRouter(
    {
        "http": GatewayApp(ASGIStaticFilesHandler(django_app)),
        "websocket": refuse_websocket,
        "lifespan": lifespan,
    }
)
