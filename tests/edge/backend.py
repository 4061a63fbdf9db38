"""A backend for the edge tests: the demo echo, plus redirects naming its own address, the headers
an unhardened framework sends, and CORS headers of its own.

    GET /redirect?to=URL&status=302     answers with Location (and Content-Location) set to URL
    GET /noisy                          Server, X-Powered-By, a Content-Security-Policy of its own
    GET /own-cors                       Access-Control-Allow-Origin: https://backend.example
    GET /count                          how many requests it served
    *   /anything                       echo: method, path, query and headers as JSON
"""

from __future__ import annotations

from aiohttp import web

from tests.support.servers import BackendThread


def make_edge_app(name: str = "edge-backend") -> web.Application:
    counter = {"requests": 0}

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"backend": name, "requests": counter["requests"]})

    async def redirect(request: web.Request) -> web.Response:
        counter["requests"] += 1
        target = request.query["to"]
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": target, "Content-Location": target})

    async def noisy(request: web.Request) -> web.Response:
        counter["requests"] += 1
        return web.Response(
            text="noisy",
            headers={
                "Server": "nginx/1.2.3",
                "X-Powered-By": "PHP/5.4",
                "Content-Security-Policy": "default-src *",
                "X-Backend-Secret": "internal",
            },
        )

    async def own_cors(request: web.Request) -> web.Response:
        counter["requests"] += 1
        return web.Response(text="cors", headers={"Access-Control-Allow-Origin": "https://backend.example"})

    async def echo(request: web.Request) -> web.Response:
        counter["requests"] += 1
        return web.json_response(
            {
                "backend": name,
                "method": request.method,
                "path": request.raw_path.split("?", 1)[0],
                "query": request.raw_path.partition("?")[2],  # as sent, still percent-encoded
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
            }
        )

    app = web.Application()
    app.router.add_get("/count", count)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/base/redirect", redirect)
    app.router.add_get("/noisy", noisy)
    app.router.add_get("/own-cors", own_cors)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def start_edge_backend() -> BackendThread:
    return BackendThread("edge-backend", app=make_edge_app()).start()
