"""A backend that serves an OpenAPI document (3.0 or 3.1, swappable at run time) and the pets API it
describes, for the portal's tests. Each answer echoes what the backend received."""

from __future__ import annotations

import copy
import json
from typing import Any

from aiohttp import web

from tests.support.servers import BackendThread


def pets_document(version: str = "3.1.0", title: str = "Pets") -> dict[str, Any]:
    nullable_tag: dict[str, Any] = (
        {"type": "string", "nullable": True} if version.startswith("3.0") else {"type": ["string", "null"]}
    )
    return {
        "openapi": version,
        "info": {"title": title, "version": "1.0"},
        "servers": [{"url": "/"}],
        "paths": {
            "/pets": {
                "get": {
                    "operationId": "listPets",
                    "tags": ["pets"],
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}}
                    ],
                    "responses": {"200": {"description": "The pets."}},
                },
                "post": {
                    "operationId": "createPet",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                    },
                    "responses": {"201": {"description": "Created."}},
                },
            },
            "/pets/{petId}": {
                "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "get": {"operationId": "getPet", "responses": {"200": {"description": "One pet."}}},
            },
        },
        "components": {
            "schemas": {
                "Pet": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": "integer", "readOnly": True},
                        "name": {"type": "string", "minLength": 1, "maxLength": 20},
                        "tag": nullable_tag,
                    },
                }
            }
        },
    }


class DocumentBackend:
    """``document`` is served at /openapi.json (``raw`` bytes instead, when set); everything else echoes."""

    def __init__(self, document: dict[str, Any], name: str = "pets") -> None:
        self.document = copy.deepcopy(document)
        self.raw: bytes | None = None
        self.status = 200
        self.seen: list[str] = []  # "METHOD path" of every request but the document's
        self.thread = BackendThread(name, self._app())

    def _app(self) -> web.Application:
        async def document(request: web.Request) -> web.Response:
            body = self.raw if self.raw is not None else json.dumps(self.document).encode()
            return web.Response(body=body, status=self.status, content_type="application/json")

        async def echo(request: web.Request) -> web.Response:
            body = await request.read()
            self.seen.append(f"{request.method} {request.raw_path}")
            return web.json_response(
                {
                    "method": request.method,
                    "path": request.raw_path.split("?", 1)[0],
                    "query": request.query_string,
                    "body": body.decode("utf-8", "replace"),
                    "headers": dict(request.headers),
                },
                headers={"Access-Control-Allow-Origin": "*"},
            )

        app = web.Application()
        app.router.add_get("/openapi.json", document)
        app.router.add_route("*", "/{tail:.*}", echo)
        return app

    def start(self) -> DocumentBackend:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.thread.stop()

    @property
    def port(self) -> int:
        return self.thread.port

    @property
    def url(self) -> str:
        return self.thread.url
