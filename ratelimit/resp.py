"""A small pipelined Redis connection for the hot path: one socket per process, requests written as they
come, replies matched in order (Redis answers a connection's commands in order).

redis-py's asyncio client cost ~100 µs of CPU per call here (pool checkout, command objects, a timeout
per read); this costs a fraction of that, which is what lets a rate-limited route keep most of the
no-policy route's throughput. It speaks just enough RESP for EVALSHA: AUTH, SELECT and SCRIPT LOAD on
connect, NOSCRIPT recovery (EVAL once, then load again), hiredis to parse. A caller that gives up
(timeout) leaves its slot in the queue, so later replies still reach the right caller.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url


class RedisReplyError(Exception):
    pass


def pack(args: Sequence[Any]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        value = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            waiter = self.waiters.popleft()
            if waiter.done():
                continue  # its caller timed out
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(RedisReplyError(str(reply)))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("Redis closed the connection")
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionError(f"Redis connection lost: {self.lost}"))

    def send(self, command: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.waiters.append(waiter)
        # Commands issued in the same loop iteration leave in one write (one syscall).
        if not self.pending:
            loop.call_soon(self._flush)
        self.pending.append(command)
        return waiter

    def _flush(self) -> None:
        data, self.pending = b"".join(self.pending), []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class ScriptClient:
    """Runs one Lua script by EVALSHA over one lazily (re)connected, pipelined connection."""

    def __init__(self, url: str, script: str, connect_timeout: float) -> None:
        self.options = parse_url(url)
        self.script = script.encode()
        self.sha = hashlib.sha1(self.script, usedforsecurity=False).hexdigest().encode()  # Redis names scripts so
        self.connect_timeout = connect_timeout
        self._conn: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def _connection(self) -> _Protocol:
        conn = self._conn
        if conn is not None and conn.lost is None:
            return conn
        if self._connecting is None:  # one connect for every caller waiting on it
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            return await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        opts = self.options
        async with asyncio.timeout(self.connect_timeout):
            if "path" in opts:
                _, conn = await loop.create_unix_connection(_Protocol, opts["path"])
            else:
                tls = ssl.create_default_context() if opts.get("connection_class") is SSLConnection else None
                _, conn = await loop.create_connection(
                    _Protocol, opts.get("host", "localhost"), opts.get("port", 6379), ssl=tls
                )
            setup = []
            if opts.get("password"):
                user = opts.get("username")
                setup.append(conn.send(pack(["AUTH", user, opts["password"]] if user else ["AUTH", opts["password"]])))
            if opts.get("db"):
                setup.append(conn.send(pack(["SELECT", opts["db"]])))
            setup.append(conn.send(pack(["SCRIPT", "LOAD", self.script])))
            try:
                await asyncio.gather(*setup)
            except BaseException:
                assert conn.transport is not None
                conn.transport.close()
                raise
        self._conn = conn
        return conn

    async def evalsha(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        conn = await self._connection()
        tail = [len(keys), *keys, *args]
        try:
            return await conn.send(pack([b"EVALSHA", self.sha, *tail]))
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        # The script cache was flushed (SCRIPT FLUSH, a failover): run it in full, and cache it again.
        reply = await conn.send(pack([b"EVAL", self.script, *tail]))
        conn.send(pack(["SCRIPT", "LOAD", self.script])).add_done_callback(_ignore)
        return reply

    async def close(self) -> None:
        if self._conn is not None and self._conn.transport is not None:
            self._conn.transport.close()
        self._conn = None


def _ignore(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
