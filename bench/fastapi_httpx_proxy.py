"""The stack most Python gateways use: FastAPI and one httpx.AsyncClient (for comparison only).

BENCH_UPSTREAM=http://127.0.0.1:PORT uvicorn bench.fastapi_httpx_proxy:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8080")
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    async with httpx.AsyncClient(base_url=UPSTREAM, limits=limits, timeout=30.0) as client:
        app.state.client = client
        yield


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.api_route("/{path:path}", methods=METHODS)
async def proxy(request: Request, path: str) -> StreamingResponse:
    client: httpx.AsyncClient = request.app.state.client
    headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1") not in HOP_BY_HOP]
    upstream_request = client.build_request(
        request.method,
        request.scope["raw_path"].decode("latin-1") + (f"?{request.url.query}" if request.url.query else ""),
        headers=headers,
        content=await request.body(),
    )
    response = await client.send(upstream_request, stream=True)
    raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
    out = {k: v for k, v in raw if k.lower() not in HOP_BY_HOP}
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=out,
        background=BackgroundTask(response.aclose),
    )
