"""A small HTTP backend for the demo configuration and the end-to-end tests.

    GET  /anything...          echo: method, path, query, headers and body length as JSON
    GET  /stream?mb=N          N MiB of bytes, streamed in 64 KiB chunks
    GET  /status/{code}        answers with that status
    GET  /slow?seconds=S       waits S seconds, then answers
    GET  /count                how many requests this backend has served
    WS   /websocket            a WebSocket echo: each message comes back as sent (text or binary)

Run it with ``python -m gateway_project.demo_backend --port 8001`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from aiohttp import web

CHUNK = b"x" * 65536


def make_app(name: str = "demo") -> web.Application:
    counter = {"requests": 0}

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"backend": name, "requests": counter["requests"]})

    async def stream(request: web.Request) -> web.StreamResponse:
        counter["requests"] += 1
        mebibytes = int(request.query.get("mb", "1"))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if request.query.get("length") == "1":
            response.content_length = mebibytes * 1024 * 1024
        await response.prepare(request)
        for _ in range(mebibytes * 16):
            await response.write(CHUNK)
        await response.write_eof()
        return response

    async def status(request: web.Request) -> web.Response:
        counter["requests"] += 1
        return web.json_response(
            {"backend": name, "status": int(request.match_info["code"])}, status=int(request.match_info["code"])
        )

    async def slow(request: web.Request) -> web.Response:
        counter["requests"] += 1
        await asyncio.sleep(float(request.query.get("seconds", "1")))
        return web.json_response({"backend": name, "slept": True})

    async def echo(request: web.Request) -> web.Response:
        counter["requests"] += 1
        body = await request.read()
        return web.json_response(
            {
                "backend": name,
                "method": request.method,
                "path": request.raw_path.split("?", 1)[0],
                "query": request.query_string,
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
                "body_bytes": len(body),
            },
            headers={"X-Backend": name},
        )

    async def websocket(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        if not socket.can_prepare(request).ok:
            return await echo(request)  # a plain GET: the usual echo
        counter["requests"] += 1
        await socket.prepare(request)
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                await socket.send_str(message.data)
            elif message.type == web.WSMsgType.BINARY:
                await socket.send_bytes(message.data)
        return socket

    app = web.Application(client_max_size=1024**3)
    app.router.add_get("/count", count)
    app.router.add_get("/websocket", websocket)
    app.router.add_get("/stream", stream)
    app.router.add_route("*", "/status/{code:[0-9]{3}}", status)
    app.router.add_get("/slow", slow)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--name", default="demo")
    args = parser.parse_args()
    print(json.dumps({"demo_backend": f"http://127.0.0.1:{args.port}"}), flush=True)
    web.run_app(make_app(args.name), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
