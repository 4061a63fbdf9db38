"""Where each slot of a Redis Cluster lives, for the pipelined script client (``proxy.pipelined_redis``).

A call goes to the master of its first key's slot (callers hash-tag the keys of one call into one
slot). The map comes from ``CLUSTER SLOTS`` (asked of the URL's node, else of any master known), read
once, then again when a call meets MOVED (in the background; the moved slot is corrected at once) or
when a master stops answering (at the next call). ASK (a slot being migrated, the key already on the
importing master) sends that one call there after ASKING. TRYAGAIN (a multi-key call during a
migration) is retried a few times within the caller's bound.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from redis.crc import key_slot

SLOTS = 16384
MAX_REDIRECTS = 5
CLUSTER_SLOTS = b"*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n"


class Node(Protocol):
    conn: Any
    options: dict[str, Any]

    async def connection(self) -> Any: ...

    def close(self) -> None: ...


class Client(Protocol):
    options: dict[str, Any]
    timeout: float

    async def run(self, node: Any, count: int, tail: bytes, asking: bool = False) -> Any: ...

    def node(self, options: dict[str, Any]) -> Any: ...


def first_key(tail: bytes) -> bytes | None:
    """The first key of an EVALSHA tail (numkeys, keys, arguments as RESP bulk strings)."""
    end = tail.index(b"\r\n")
    start = end + 2
    numkeys_end = start + int(tail[1:end])
    if tail[start:numkeys_end] == b"0":
        return None
    start = numkeys_end + 2
    end = tail.index(b"\r\n", start)
    length = int(tail[start + 1 : end])
    return tail[end + 2 : end + 2 + length]


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port.split("@", 1)[0])


class SlotMap:
    def __init__(self, seed: Node) -> None:
        self.seed = seed
        self.owners: list[tuple[str, int] | None] = [None] * SLOTS
        self.nodes: dict[tuple[str, int], Node] = {}
        self._refreshing: asyncio.Future[None] | None = None
        self._background: set[asyncio.Future[None]] = set()

    async def call(self, client: Client, count: int, tail: bytes) -> Any:
        key = first_key(tail)
        slot = key_slot(key) if key is not None else 0
        owner = self.owners[slot]
        if owner is None:
            async with asyncio.timeout(client.timeout):
                await self.refresh()
            owner = self.owners[slot]
            if owner is None:
                raise ConnectionError(f"no master of the Redis Cluster serves slot {slot}")
        asking = False
        for _ in range(MAX_REDIRECTS):
            try:
                return await client.run(self._node(client, owner), count, tail, asking)
            except (ConnectionError, OSError, TimeoutError):
                self.owners = [None] * SLOTS  # a master down or failed over: read the map again next time
                raise
            except Exception as exc:
                kind, _, rest = str(exc).partition(" ")
                if kind == "MOVED":
                    owner = self.owners[slot] = _address(rest.split(" ")[1])
                    asking = False
                    self._refresh_later()
                elif kind == "ASK":
                    owner, asking = _address(rest.split(" ")[1]), True
                elif kind == "TRYAGAIN":
                    await asyncio.sleep(0.005)
                else:
                    raise
        raise ConnectionError(f"the Redis Cluster redirected a call more than {MAX_REDIRECTS} times")

    def _node(self, client: Client, address: tuple[str, int]) -> Node:
        node = self.nodes.get(address)
        if node is None and (self.seed.options.get("host"), self.seed.options.get("port")) == address:
            node = self.nodes[address] = self.seed
        if node is None:
            options = {**client.options, "host": address[0], "port": address[1]}
            options.pop("db", None)
            node = self.nodes[address] = client.node(options)
        return node

    async def refresh(self) -> None:
        """Read the slot map (one reader at a time; every waiting caller shares it)."""
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._read())
        try:
            await asyncio.shield(self._refreshing)
        finally:
            if self._refreshing is not None and self._refreshing.done():
                self._refreshing = None

    def _refresh_later(self) -> None:
        task = asyncio.ensure_future(self.refresh())
        self._background.add(task)
        task.add_done_callback(self._refreshed)

    def _refreshed(self, task: asyncio.Future[None]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # a failed background read is retried by the next call that needs it

    async def _read(self) -> None:
        error: BaseException | None = None
        # Masters with a live connection first: the URL's node may be the one that just went away.
        known = [self.seed, *(n for n in self.nodes.values() if n is not self.seed)]
        known.sort(key=lambda n: n.conn is None or n.conn.lost is not None)
        for node in known:
            try:
                conn = await node.connection()
                reply = await conn.send(CLUSTER_SLOTS)
            except Exception as exc:
                error = exc
                continue
            node_host = str(node.options.get("host", "localhost"))
            owners: list[tuple[str, int] | None] = [None] * SLOTS
            for start, end, master, *_replicas in reply:
                host = master[0].decode() if master[0] else node_host
                address = (host, int(master[1]))
                owners[start : end + 1] = [address] * (end - start + 1)
            self.owners = owners
            return
        raise ConnectionError(f"no node of the Redis Cluster answered CLUSTER SLOTS: {error!r}")

    def close(self) -> None:
        for node in self.nodes.values():  # the seed's too (closing twice is harmless)
            node.close()
        self.nodes.clear()
