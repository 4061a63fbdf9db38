"""The bare reference proxy: a plain ASGI callable and one aiohttp session; the Python ceiling.

BENCH_UPSTREAM=http://127.0.0.1:PORT uvicorn bench.bare_proxy:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
from yarl import URL

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8080")
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
_session: aiohttp.ClientSession | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _session
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000), auto_decompress=False)
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await _session.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    assert _session is not None and scope["type"] == "http"
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k.decode() not in HOP_BY_HOP]
    url = URL(UPSTREAM + target.decode("latin-1"), encoded=True)
    async with _session.request(scope["method"], url, headers=headers, data=body or None, allow_redirects=False) as r:
        out = [(k, v) for k, v in r.raw_headers if k.decode("latin-1").lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": r.status, "headers": out})
        async for chunk in r.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
