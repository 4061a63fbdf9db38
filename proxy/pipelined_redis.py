"""A small pipelined Redis connection for the hot path: one socket per process, requests written as they
come, replies matched in order (Redis answers a connection's commands in order).

redis-py's asyncio client cost ~100 µs of CPU per call here (pool checkout, command objects, a timeout
per read); this costs a fraction of that, which is what lets a rate-limited route keep most of the
no-policy route's throughput. It speaks just enough RESP for EVALSHA: AUTH, SELECT and SCRIPT LOAD on
connect, NOSCRIPT recovery (EVAL once, then load again), hiredis to parse.

Timeouts are the connection's, not each caller's (``asyncio.timeout`` cost ~7 µs per call): one timer
watches the oldest unanswered command, and when it is overdue the connection is declared too slow,
every waiting caller gets ``TimeoutError`` and the socket is closed (a later call reconnects).
What is timed is Redis, not this process's event loop: a command's time starts when it is written
(a burst of requests can hold it queued for a long loop iteration first), and the verdict waits for
the loop to have read its sockets once more (the answer may be there, unread, when the timer fires).
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

from proxy.cluster_slots import SlotMap
from proxy.redis_urls import is_cluster, plain_url

READ_GRACE = 0.001  # seconds: long enough to put the verdict after the loop's next poll


class RedisReplyError(Exception):
    pass


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def pack(args: Sequence[Any]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(bulk(arg if isinstance(arg, bytes) else str(arg).encode()))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.reader = hiredis.Reader()
        self.waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        # One entry per write: (commands written so far, this one included; its deadline). A command's
        # time starts when it is written, not when it was queued behind a busy loop iteration.
        self.writes: collections.deque[tuple[int, float]] = collections.deque()
        self.written = 0
        self.answered = 0
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None
        self.pending: list[bytes] = []
        self.watchdog: asyncio.TimerHandle | None = None
        self.suspect: tuple[int, float] | None = None  # the overdue write given one more read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            waiter = self.waiters.popleft()
            self.answered += 1
            if waiter.done():
                continue  # its caller was cancelled
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(RedisReplyError(str(reply)))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("Redis closed the connection")
        self._fail(ConnectionError(f"Redis connection lost: {self.lost}"))

    def _fail(self, error: Exception) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        self.writes.clear()
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None

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
        loop = asyncio.get_running_loop()
        data, count, self.pending = b"".join(self.pending), len(self.pending), []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
        self.written += count
        deadline = loop.time() + self.timeout
        self.writes.append((self.written, deadline))
        watchdog = self.watchdog
        if watchdog is None or watchdog.when() > deadline:  # none, or one set for the slower setup commands
            if watchdog is not None:
                watchdog.cancel()
            self.watchdog = loop.call_at(deadline, self._watch)

    def _watch(self) -> None:
        self.watchdog = None
        writes = self.writes
        while writes and writes[0][0] <= self.answered:
            writes.popleft()  # every command of that write is answered
        if not writes:
            return
        loop = asyncio.get_running_loop()
        oldest = writes[0]
        if oldest[1] > loop.time():
            self.watchdog = loop.call_at(oldest[1], self._watch)
            return
        if self.suspect is not oldest:
            # Overdue, but the loop may not have read the socket since the answer came: look again
            # after its next poll (with uvloop, a timer due now can run before it).
            self.suspect = oldest
            self.watchdog = loop.call_later(READ_GRACE, self._watch)
            return
        self.lost = TimeoutError(f"Redis did not answer within {self.timeout} s")
        self._fail(TimeoutError(f"Redis did not answer within {self.timeout} s"))
        if self.transport is not None:
            self.transport.close()


class _Node:
    """One server's pipelined connection, (re)connected lazily, with the script loaded on connect."""

    def __init__(self, options: dict[str, Any], script: bytes, connect_timeout: float, timeout: float) -> None:
        self.options = options
        self.script = script
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.conn: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def connection(self) -> _Protocol:
        conn = self.conn
        if conn is not None and conn.lost is None:
            return conn
        if self._connecting is None:  # one connect for every caller waiting on it
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            return await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    def _protocol(self) -> _Protocol:
        return _Protocol(self.connect_timeout)  # for the setup commands; the request timeout once ready

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        opts = self.options
        async with asyncio.timeout(self.connect_timeout):
            if "path" in opts:
                _, conn = await loop.create_unix_connection(self._protocol, opts["path"])
            else:
                tls = ssl.create_default_context() if opts.get("connection_class") is SSLConnection else None
                _, conn = await loop.create_connection(
                    self._protocol, opts.get("host", "localhost"), opts.get("port", 6379), ssl=tls
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
        conn.timeout = self.timeout
        self.conn = conn
        return conn

    def close(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.close()
        self.conn = None


class ScriptClient:
    """Runs one Lua script by EVALSHA over one lazily (re)connected, pipelined connection; for a Redis
    Cluster (``redis+cluster://``), over one such connection per master, each call sent to the master of
    its first key's slot (``proxy.cluster_slots``), following MOVED (the slot has moved: the map is
    corrected, and read again in the background) and ASK (a slot being migrated: ASKING, then the call,
    on the importing master)."""

    def __init__(self, url: str, script: str, timeout: float, connect_timeout: float) -> None:
        self.cluster = is_cluster(url)
        self.options: dict[str, Any] = dict(parse_url(plain_url(url)))
        self.timeout = timeout
        self.script = script.encode()
        self.sha = hashlib.sha1(self.script, usedforsecurity=False).hexdigest().encode()  # Redis names scripts so
        self._evalsha_head = bulk(b"EVALSHA") + bulk(self.sha)
        self.connect_timeout = connect_timeout
        self._single = _Node(self.options, self.script, connect_timeout, timeout)
        self._slots = SlotMap(self._single) if self.cluster else None

    async def evalsha(self, count: int, tail: bytes) -> Any:
        """Run the script; ``tail`` is ``count`` RESP bulk strings: numkeys, the keys, the arguments."""
        if self._slots is not None:
            return await self._slots.call(self, count, tail)
        return await self.run(self._single, count, tail)

    async def run(self, node: _Node, count: int, tail: bytes, asking: bool = False) -> Any:
        conn = node.conn
        if conn is None or conn.lost is not None:
            async with asyncio.timeout(self.timeout):  # a caller waits no longer for a connect
                conn = await node.connection()
        if asking:
            conn.send(ASKING).add_done_callback(_ignore)  # the same write as the call: nothing between them
        try:
            return await conn.send(b"*%d\r\n%s%s" % (count + 2, self._evalsha_head, tail))
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        # The script cache was flushed (SCRIPT FLUSH, a failover): run it in full, and cache it again.
        if asking:
            conn.send(ASKING).add_done_callback(_ignore)
        reply = await conn.send(b"*%d\r\n%s%s%s" % (count + 2, bulk(b"EVAL"), bulk(self.script), tail))
        conn.send(pack(["SCRIPT", "LOAD", self.script])).add_done_callback(_ignore)
        return reply

    def node(self, options: dict[str, Any]) -> _Node:
        return _Node(options, self.script, self.connect_timeout, self.timeout)

    async def connect(self) -> None:
        if self._slots is not None:
            async with asyncio.timeout(self.connect_timeout):
                await self._slots.refresh()
            return
        await self._single.connection()

    async def close(self) -> None:
        self._single.close()
        if self._slots is not None:
            self._slots.close()


ASKING = pack(["ASKING"])


def _ignore(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
