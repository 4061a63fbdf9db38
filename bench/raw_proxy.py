"""The raw reference proxy: a plain ASGI callable and the data plane's own client (``proxy.client``),
no features at all; the Python limit the gateway is measured against (aiohttp's is ``bare_proxy``).

BENCH_UPSTREAM=http://127.0.0.1:PORT uvicorn bench.raw_proxy:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from proxy.client.pool import Pool, Resolver

UPSTREAM = urlsplit(os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8080"))
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host"}
)
HOST = f"host: {UPSTREAM.netloc}\r\n".encode()
_pool = Pool(UPSTREAM.hostname or "", UPSTREAM.port or 80, None, Resolver(), 1000, 5.0, 30.0, 1000)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        _pool.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
    parts = [scope["method"].encode(), b" ", target, b" HTTP/1.1\r\n", HOST]
    for name, value in scope["headers"]:
        if name not in HOP_BY_HOP and name != b"content-length":
            parts += (name, b": ", value, b"\r\n")
    if body:
        parts += (b"content-length: ", str(len(body)).encode(), b"\r\n")
    parts.append(b"\r\n")
    conn = await _pool.acquire(5.0)
    try:
        conn.start(scope["method"] == "HEAD")
        await conn.send(b"".join(parts), body or None, False, 30.0)
        await conn.read_head(30.0)
        out = [(n, v) for n, v in conn.headers if n.lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": conn.status, "headers": out})
        while chunk := await conn.read_chunk(30.0):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except BaseException:
        _pool.discard(conn)
        raise
    _pool.release(conn)
    await send({"type": "http.response.body", "body": b""})
