"""An OTLP/HTTP trace receiver on 127.0.0.1 for the tracing tests: the spans a process exports."""

from __future__ import annotations

import time

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class Receiver:
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/traces", self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        for resource in message.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        return web.Response(body=b"", content_type="application/x-protobuf")

    def wait_for(self, trace_id: str, count: int, timeout: float = 10, kind: int | None = None) -> list[Span]:
        """The spans of ``trace_id`` once ``count`` arrived, and one of ``kind`` if given (children end,
        and may be exported, before their parent; the Postgres spans of the config poll arrive all the
        time, in their own traces)."""
        deadline = time.monotonic() + timeout
        while True:
            mine = [s for s in list(self.spans) if s.trace_id.hex() == trace_id]
            done = len(mine) >= count and (kind is None or any(s.kind == kind for s in mine))
            if done or time.monotonic() > deadline:
                return mine
            time.sleep(0.05)
