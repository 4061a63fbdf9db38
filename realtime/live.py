"""This process's open WebSocket connections: caps per route and per consumer, counts for the admin
overview, and the list the shutdown hook closes with 1001.

Caps are per gateway process (documented): N processes admit up to N times a route's cap. Counts are
shared with the admin through Redis by ``realtime.counts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any, Protocol

from realtime.errors import TooManyConnections
from realtime.metrics import CONNECTIONS

log = logging.getLogger(__name__)

GOING_AWAY = 1001


class Session(Protocol):
    async def shut(self, code: int, reason: str) -> None: ...


class Live:
    def __init__(self) -> None:
        self.routes: Counter[str] = Counter()
        self.consumers: Counter[tuple[str, str]] = Counter()  # (route, consumer)
        self.channels: Counter[str] = Counter()
        self.sessions: set[Session] = set()
        self.shutting_down = False

    def admit(self, route: str, consumer: str, max_route: int, max_consumer: int) -> None:
        """Count a new connection, or raise 429 when the route, or the consumer on this route, is at its cap."""
        if self.shutting_down:
            raise TooManyConnections("The gateway is shutting down.", reason="shutting_down")
        if max_route and self.routes[route] >= max_route:
            raise TooManyConnections(f"This route already has {max_route} open WebSocket connections.")
        if consumer and max_consumer and self.consumers[route, consumer] >= max_consumer:
            raise TooManyConnections(f"You already have {max_consumer} open WebSocket connections here.")
        self.routes[route] += 1
        if consumer:
            self.consumers[route, consumer] += 1
        CONNECTIONS.labels(route).inc()

    def release(self, route: str, consumer: str) -> None:
        _decrement(self.routes, route)
        if consumer:
            _decrement(self.consumers, (route, consumer))
        CONNECTIONS.labels(route).dec()

    def subscribed(self, channel: str) -> None:
        self.channels[channel] += 1

    def unsubscribed(self, channel: str) -> None:
        _decrement(self.channels, channel)

    async def close_all(self, wait: float = 5.0) -> None:
        """Gateway shutdown: every open connection gets a Close 1001 (both legs)."""
        self.shutting_down = True
        sessions = list(self.sessions)
        if not sessions:
            return
        log.info("closing %d WebSocket connection(s) for shutdown", len(sessions))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(s.shut(GOING_AWAY, "gateway shutdown") for s in sessions), return_exceptions=True),
                wait,
            )


def _decrement(counter: Counter[Any], key: Any) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


live = Live()


async def start() -> None:
    live.shutting_down = False


async def stop() -> None:
    await live.close_all()
