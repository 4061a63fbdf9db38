"""A backend whose behaviour a test switches: ok, fail (503), hang, reset mid-response."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import web

from tests.support.servers import BackendThread


class Flaky:
    def __init__(self, name: str = "flaky", port: int | None = None) -> None:
        self.name = name
        self.mode = "ok"
        self.hang_seconds = 3.0
        self.health_status = 200
        self.requests = 0  # proxied requests only, not health probes
        self.probes = 0
        self.probe_methods: list[str] = []
        self._released = asyncio.Event()
        self.server = BackendThread(name, app=self._app(), port=port)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> Flaky:
        self.server.start()
        return self

    def stop(self) -> None:
        # Let hanging handlers finish so no task is left pending when the loop stops.
        self.server.loop.call_soon_threadsafe(self._released.set)
        time.sleep(0.05)
        self.server.stop()

    def _app(self) -> web.Application:
        async def health(request: web.Request) -> web.Response:
            self.probes += 1
            self.probe_methods.append(request.method)
            return web.json_response({"backend": self.name}, status=self.health_status)

        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            mode = self.mode
            if mode == "fail":
                return web.json_response({"backend": self.name, "mode": mode}, status=503)
            if mode == "hang":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), self.hang_seconds)
            if mode == "reset":
                response = web.StreamResponse(headers={"Content-Length": "1000"})
                await response.prepare(request)
                await response.write(b"x" * 10)
                assert request.transport is not None
                request.transport.abort()
                return response
            return web.json_response({"backend": self.name, "method": request.method})

        app = web.Application()
        app.router.add_get("/healthz", health)
        app.router.add_route("*", "/{tail:.*}", handle)
        return app
