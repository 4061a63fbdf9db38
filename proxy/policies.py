"""Data-plane steps that belong to the proxy itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.errors import BodyTooLarge
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot


class BodyLimitPolicy:
    """Refuse a declared ``Content-Length`` over the route's limit before any body byte is read.

    Chunked bodies have no declared length; the body reader cuts them off at the same limit.
    """

    name = "body_limit"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot | None = None) -> BodyLimitPolicy:
        return cls(route.max_body_bytes)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        length = exchange.content_length
        if length is not None and length > self.limit:
            error = BodyTooLarge(
                f"The request body of {length} bytes exceeds this route's limit of {self.limit} bytes."
            )
            error.close_connection = True
            raise error
        return await call_next(exchange)
