"""What the breaker would do with a request, for the route simulator: each target's state (closed,
open, half-open) read from where the data plane keeps it (Redis, or this process's memory) without
changing it, whether it would be refused (503 circuit_open), and the target the balancer would pick
once open breakers and targets a fresh health check reports down are skipped.

``breaker.state.admit`` is a pure function, so asking it about a copy of the stored state answers
"would this be admitted now?" with the data plane's own rules and writes nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from breaker.state import CLOSED, OPEN, BreakerState, admit

if TYPE_CHECKING:
    from breaker.policies import BreakerGate
    from proxy.balancer import Balancer

TIMEOUT = 0.5  # seconds, connect and read: an admin page, never a hung one
FIELDS = ("s", "f", "c", "fc", "ws", "ou", "tr", "p", "ps", "pd")


def read_states(target_ids: list[int]) -> tuple[dict[int, BreakerState], float]:
    """Each target's stored state and the clock it is judged by (Redis's ``TIME`` with Redis).
    Raises when Redis does not answer."""
    from django.conf import settings

    from breaker.backends import memory

    if not settings.REDIS_URL:
        return {i: memory.states.get(i) or BreakerState() for i in target_ids}, memory.clock()
    from breaker.backends import KEY_PREFIX
    from proxy.redis_clients import sync_client

    with sync_client(timeout=TIMEOUT, connect_timeout=TIMEOUT) as client:
        seconds, micros = client.time()
        pipe = client.pipeline(transaction=False)
        for i in target_ids:
            pipe.hmget(f"{KEY_PREFIX}{i}", *FIELDS)
        rows = pipe.execute()
    return {i: _state(row) for i, row in zip(target_ids, rows, strict=True)}, int(seconds) + int(micros) / 1e6


def _state(row: list[Any]) -> BreakerState:
    s, f, c, fc, ws, ou, tr, p, ps, pd = row
    if s is None:
        return BreakerState()
    return BreakerState(
        state=s.decode() if isinstance(s, bytes) else str(s),
        failures=int(f or 0),
        calls=int(c or 0),
        failed_calls=int(fc or 0),
        window_start=float(ws or 0),
        open_until=float(ou or 0),
        trips=int(tr or 0),
        probes=int(p or 0),
        successes=int(ps or 0),
        probe_deadline=float(pd or 0),
    )


def explain(gate: BreakerGate, balancer: Balancer) -> tuple[int, str, bool]:
    """(chosen target's index or -1, what each target's breaker says, whether the request is refused)."""
    from django.utils import timezone

    from breaker.services import down_targets

    try:
        down = down_targets(timezone.now())
    except Exception:  # the database: health results unknown, the breakers alone decide
        down = frozenset()
    try:
        states, now = read_states(gate.ids)
    except Exception as exc:  # the gateway would fall back to its own in-memory breakers
        states, now, note = {}, 0.0, f"breaker state unknown: Redis did not answer ({type(exc).__name__}: {exc})"
    else:
        note = ""
    lines, refused, retry = [], [], math.inf
    for index, target in enumerate(gate.spec.targets):
        cfg = gate.settings[index]
        if target.id in down:
            lines.append(f"{target.address}: down (health check)")
            refused.append(index)
            continue
        if cfg is None or not states:
            lines.append(f"{target.address}: {'no breaker' if cfg is None else 'unknown'}")
            continue
        state = states[target.id]
        _, answer, _ = admit(state, cfg, now)
        shown = state.state.replace("_", "-")
        if state.state == OPEN and answer.allowed:
            shown = "open, period over: the next request is a half-open probe"
        elif state.state == OPEN:
            shown = f"open for {math.ceil(state.open_until - now)} more s"
        elif state.state == CLOSED and state.failures:
            shown += f" ({state.failures} consecutive failures)"
        if not answer.allowed:
            refused.append(index)
            retry = min(retry, answer.retry_after)
            shown += ", refuses requests"
        lines.append(f"{target.address}: {shown}")
    chosen = balancer.pick(refused)
    text = "; ".join(lines) + (f"; {note}" if note else "")
    if chosen < 0 and refused:
        if retry < math.inf:
            seconds = max(1, math.ceil(retry))
            why = f"every target is unhealthy or its circuit is open (Retry-After {seconds} s)"
            return -1, f"503 circuit_open: {why}. {text}", True
        return -1, f"503 no_healthy_upstream: every target failed its health check. {text}", True
    return chosen, text, False
