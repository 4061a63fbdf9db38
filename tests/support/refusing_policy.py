"""A policy for tests of the policy seam: refuses with 429 when the request carries ``X-Test-Refuse``.

Listed in a test gateway's ``GATEWAY_POLICIES``, it shows that every policy of a route (the rate
limiter, for one) also runs on WebSocket upgrades, before the backend is contacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.errors import GatewayError
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot


class TestRefusal(GatewayError):
    status = 429
    reason = "test_refusal"


class RefuseOnHeader:
    name = "test_refuse"

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot | None = None) -> RefuseOnHeader:
        return cls()

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        if any(name == b"x-test-refuse" for name, _ in exchange.headers):
            kind = "upgrade" if "websocket" in exchange.extra else "request"
            raise TestRefusal(f"Refused this {kind} on purpose.", headers=[(b"retry-after", b"1")])
        return await call_next(exchange)
