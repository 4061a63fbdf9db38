"""ASGI entry point: the gateway's data plane in front of Django.

    http      -> proxy.app.GatewayApp -> (paths Django owns) -> Django (WhiteNoise serves /static)
    websocket -> realtime.router.WebSocketRouter -> /ws/{client_id} fan-out, or a route's backend
    lifespan  -> proxy.lifespan (every app's start and stop hooks and background tasks)

Serve with uvicorn and the gateway's protocol classes, for example:
    uvicorn gateway_project.asgi:application --http proxy.server:GatewayHttpToolsProtocol \
        --ws realtime.server:GatewayWebSocketProtocol --lifespan on
"""

from __future__ import annotations

import os

from gateway_project.bootstrap import prepare

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
prepare()

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from gateway_project import shutdown  # noqa: E402
from proxy import lifespan  # noqa: E402
from proxy.app import GatewayApp  # noqa: E402
from realtime.router import WebSocketRouter  # noqa: E402

lifespan.add_hooks(shutdown.install, None)  # after every app's hooks: uvicorn's handler is set by then
gateway = GatewayApp(django_app)  # /static: WhiteNoise, in Django's middleware

application = ProtocolTypeRouter(
    {
        "http": gateway,
        "websocket": WebSocketRouter(gateway),
        "lifespan": lifespan.lifespan,
    }
)
