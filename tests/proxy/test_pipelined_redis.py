"""The hot path's pipelined Redis connection: a timeout is Redis being slow, not the event loop."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
import uvloop

from proxy.pipelined_redis import ScriptClient, bulk

pytestmark = pytest.mark.needs_redis


def test_an_answer_that_arrived_while_the_loop_was_busy_is_not_a_timeout() -> None:
    async def main() -> object:
        client = ScriptClient(os.environ["REDIS_URL"], "return 7", timeout=0.05, connect_timeout=1.0)
        await client.connect()
        try:
            call = asyncio.ensure_future(client.evalsha(1, bulk(b"0")))
            await asyncio.sleep(0)  # the call is made: its command waits for the loop's next turn to be written
            time.sleep(0.2)  # a long loop iteration (a burst of requests) before that turn
            return await call
        finally:
            await client.close()

    # uvloop, as the gateway runs: it fires due timers before it reads the sockets.
    assert uvloop.run(main()) == 7
