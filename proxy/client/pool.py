"""Keep-alive pools (one per target), the DNS cache and the TLS context of the upstream client.

A ``Pool`` hands out its most recently used idle connection, or opens one while it has fewer than
``limit``; at the limit a request waits up to ``wait`` seconds for one to be freed (``PoolBusy``,
503 ``upstream_busy``). A connection goes back only when its response was read to the end, its
request was sent whole, neither side said ``Connection: close`` and nothing went wrong; it is closed
after ``idle_timeout`` idle seconds (checked when the pool is next used and by ``sweep``), and
beyond ``max_idle`` idle connections the oldest is closed.

Names are resolved with ``loop.getaddrinfo`` and cached for ``DNS_TTL`` seconds; every address
(IPv4 and IPv6) is tried in turn until one accepts. ``https`` targets are verified (the system
store, or a CA bundle), with SNI and an optional client certificate; a failed verification is
``TLSFailed``, never a fallback to an unverified connection. The context comes from
``proxy.client.tls`` (built at compile time); ``server_name`` is the SNI and the name verified
(the target's host unless a service overrides it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass, field

from proxy.client import ConnectFailed, PoolBusy, TLSFailed
from proxy.client.connection import Connection

DNS_TTL = 60.0

Address = tuple[int, tuple[str, int]]  # (family, (host, port))


@dataclass(slots=True)
class PoolStats:
    opened: int = 0
    reused: int = 0
    waits: int = 0
    tls_handshakes: int = 0


class Resolver:
    def __init__(self, ttl: float = DNS_TTL) -> None:
        self.ttl = ttl
        self.cache: dict[tuple[str, int], tuple[float, list[Address]]] = {}

    async def resolve(self, host: str, port: int) -> list[Address]:
        key = (host, port)
        hit = self.cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            addresses: list[Address] = [(family, (host, port))]
            self.cache[key] = (float("inf"), addresses)
            return addresses
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectFailed(f"cannot resolve {host}: {exc}") from exc
        addresses = []
        for family, _, _, _, sockaddr in infos:
            entry = (int(family), (str(sockaddr[0]), int(sockaddr[1])))
            if entry not in addresses:
                addresses.append(entry)
        self.cache[key] = (now + self.ttl, addresses)
        return addresses


@dataclass(slots=True)
class Pool:
    host: str
    port: int
    tls: ssl.SSLContext | None
    resolver: Resolver
    limit: int
    wait: float
    idle_timeout: float
    max_idle: int
    server_name: str = ""  # SNI and the name the certificate is verified against; "": the host
    idle: list[Connection] = field(default_factory=list)
    count: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    stats: PoolStats = field(default_factory=PoolStats)

    async def acquire(self, connect_timeout: float, fresh: bool = False, also: PoolStats | None = None) -> Connection:
        """A connection for one request; ``also``: a second set of counts to keep (the service's)."""
        deadline = 0.0
        while True:
            if not fresh:
                conn = self._idle_connection()
                if conn is not None:
                    self.stats.reused += 1
                    if also is not None:
                        also.reused += 1
                    return conn
            if self.count < self.limit:
                conn = await self._open(connect_timeout)
                if also is not None:
                    also.opened += 1
                    also.tls_handshakes += self.tls is not None
                return conn
            if not deadline:
                self.stats.waits += 1
                if also is not None:
                    also.waits += 1
                deadline = time.monotonic() + self.wait
            left = deadline - time.monotonic()
            if left <= 0:
                raise PoolBusy(f"all {self.limit} connections to {self.host}:{self.port} stayed busy")
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                async with asyncio.timeout(left):
                    await waiter
            except TimeoutError:
                raise PoolBusy(f"all {self.limit} connections to {self.host}:{self.port} stayed busy") from None
            finally:
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
            fresh = False

    def release(self, conn: Connection) -> None:
        """The request is over: keep the connection for the next one, or close it."""
        conn.busy = False
        if not conn.reusable() or self.idle_timeout <= 0:
            conn.abort()
            self.drop(conn)
            return
        conn.idle_since = time.monotonic()
        conn.reused = True
        self.idle.append(conn)
        if len(self.idle) > self.max_idle:
            oldest = self.idle.pop(0)
            oldest.abort()
            self.drop(oldest)
        self._wake()

    def discard(self, conn: Connection) -> None:
        """The request failed or was abandoned: the connection is never reused."""
        conn.busy = False
        conn.abort()
        self.drop(conn)

    def drop(self, conn: Connection) -> None:
        if conn.counted:
            conn.counted = False
            self.count -= 1
            self._wake()

    def lost(self, conn: Connection) -> None:
        """``connection_lost``: an idle connection the backend closed leaves the pool."""
        if not conn.busy:
            if conn in self.idle:
                self.idle.remove(conn)
            self.drop(conn)

    def sweep(self, now: float) -> None:
        oldest = now - self.idle_timeout
        while self.idle and self.idle[0].idle_since <= oldest:
            conn = self.idle.pop(0)
            conn.abort()
            self.drop(conn)

    def close(self) -> None:
        for conn in self.idle:
            conn.abort()
            self.drop(conn)
        self.idle.clear()

    def _idle_connection(self) -> Connection | None:
        idle = self.idle
        if not idle:
            return None
        oldest = time.monotonic() - self.idle_timeout
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.idle_since > oldest:
                return conn
            conn.abort()
            self.drop(conn)
        return None

    def _wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _open(self, seconds: float) -> Connection:
        self.count += 1
        try:
            conn = await self._connect(seconds)
        except BaseException:
            self.count -= 1
            self._wake()
            raise
        self.stats.opened += 1
        return conn

    async def _connect(self, seconds: float) -> Connection:
        loop = asyncio.get_running_loop()
        failure: BaseException | None = None
        for family, (host, port) in await self.resolver.resolve(self.host, self.port):
            conn = Connection(loop, self.lost)
            try:
                async with asyncio.timeout(seconds):
                    await loop.create_connection(
                        lambda conn=conn: conn,
                        host,
                        port,
                        family=family,
                        ssl=self.tls,
                        server_hostname=(self.server_name or self.host) if self.tls is not None else None,
                    )
            except ssl.SSLError as exc:
                raise TLSFailed(f"TLS with {self.host}:{self.port} failed: {exc}") from exc
            except OSError as exc:  # refused, unreachable, timed out
                failure = exc
                continue
            if self.tls is not None:
                self.stats.tls_handshakes += 1
            return conn
        detail = str(failure) or type(failure).__name__ if failure is not None else "no address"
        raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {detail}")
