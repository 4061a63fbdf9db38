"""What request validation (the portal's ``RequestValidationPolicy``) costs per request, in-process
(no network, no wrk): not part of ``make bench``.

    python bench/validation_cost.py [--calls 20000]

Builds the validator once from a small document (20 templated paths and a JSON body), then times N
calls of the policy step in front of a no-op ``call_next``: a GET with a path and a query parameter,
and a POST whose JSON body is read (``buffer_body``) and checked. For scale, the same requests through
openapi-core's validator (built once too). Prints JSON: microseconds per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BODY = json.dumps({"name": "Rex", "price": 3.5, "tags": ["a", "b"]}).encode()


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"/things{i}/{{id}}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
        for i in range(20)
    }
    paths["/items"] = {
        "post": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
            },
            "responses": {"201": {"description": "created"}},
        }
    }
    item = {
        "type": "object",
        "required": ["name", "price"],
        "properties": {
            "name": {"type": "string", "maxLength": 50},
            "price": {"type": "number", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"Item": item}},
    }


def exchange(method: str, path: str, query: bytes, body: bytes | None) -> Any:
    from proxy.exchange import Exchange

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body or b"", "more_body": False}

    headers = [(b"content-type", b"application/json")] if body else []
    return Exchange(
        scope={}, receive=receive, method=method, path=path, query=query, host="gw", scheme="http",
        client_ip="127.0.0.1", request_id="r", headers=headers, route=None,  # type: ignore[arg-type]
        upstream_path=path, content_length=len(body) if body else None, chunked=False,
        body_limit=1 << 20, started=0.0,
    )  # fmt: skip


async def _ok(exchange: Any) -> Any:
    return None


def measure(calls: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    import django

    from gateway_project.bootstrap import prepare

    prepare()
    django.setup()
    from portal.compile import RouteValidation
    from portal.policies import RequestValidationPolicy
    from portal.validation import compile_document

    started = time.perf_counter()
    validator = compile_document(document(), "bench")
    compile_ms = (time.perf_counter() - started) * 1000
    policy = RequestValidationPolicy(RouteValidation("bench", validator))

    async def run(method: str, path: str, query: bytes, body: bytes | None) -> float:
        for _ in range(500):
            await policy(exchange(method, path, query, body), _ok)
        build = 0.0
        started = time.perf_counter()
        for _ in range(calls):
            t = time.perf_counter()
            ex = exchange(method, path, query, body)
            build += time.perf_counter() - t
            await policy(ex, _ok)
        return (time.perf_counter() - started - build) / calls * 1e6

    get_us = asyncio.run(run("GET", "/things19/42", b"limit=5", None))
    post_us = asyncio.run(run("POST", "/items", b"", BODY))
    return {
        "calls": calls,
        "compile_ms": round(compile_ms, 2),
        "get_path_and_query_us": round(get_us, 2),
        "post_json_body_us": round(post_us, 2),
        **_openapi_core(calls // 10),
    }


def _openapi_core(calls: int) -> dict[str, Any]:
    try:
        from openapi_core import OpenAPI
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict
    except ImportError:
        return {}

    class Request:
        def __init__(self, method: str, path: str, query: dict[str, str], body: bytes | None) -> None:
            self.method, self.path, self.host_url, self.body = method, path, "http://gw", body
            self.content_type = "application/json"
            self.parameters = RequestParameters(
                query=ImmutableMultiDict(query),
                header=Headers({"content-type": "application/json"}),
                cookie=ImmutableMultiDict(),
            )

        @property
        def full_url_pattern(self) -> str:
            return self.host_url + self.path

    api = OpenAPI.from_dict(document())

    def per_call(make: Any) -> float:
        api.validate_request(make())
        started = time.perf_counter()
        for _ in range(calls):
            api.validate_request(make())
        return round((time.perf_counter() - started) / calls * 1e6, 1)

    return {
        "openapi_core_get_us": per_call(lambda: Request("get", "/things19/42", {"limit": "5"}, None)),
        "openapi_core_post_us": per_call(lambda: Request("post", "/items", {}, BODY)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.calls)))


if __name__ == "__main__":
    main()
