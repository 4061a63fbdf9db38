"""A backend that counts the requests it began and the ones it received whole, with their headers:
what proves that no broken or partial request reached a backend through the gateway."""

from __future__ import annotations

from aiohttp import web


class CountingBackend:
    def __init__(self) -> None:
        self.started: list[str] = []  # paths of the requests whose head arrived
        self.complete: list[tuple[str, int]] = []  # (path, body length) of those received whole
        self.headers: list[dict[str, str]] = []  # headers of the requests received whole
        self.app = web.Application(client_max_size=1024**3)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.started.append(request.path)
        body = await request.read()  # raises when the gateway abandons the request mid-body
        self.complete.append((request.path, len(body)))
        self.headers.append({name.lower(): value for name, value in request.headers.items()})
        return web.json_response({"bytes": len(body)})
