"""Rolling latency and throughput per service over the last 1, 5 and 15 minutes, and a timeline of
the last hour for the admin dashboard's charts (``timeline``).

Each process counts its requests in 10-second slots, one fixed-bucket latency histogram (about 26%
apart, 0.5 ms to 32 s) and an error count per service and slot: an ``add`` is a bisect and two list
increments. With several workers each one writes its slots to ``perf_<pid>.json`` in the
multiprocess directory every couple of seconds (``proxy.metrics.wiring``); a reader merges every live
worker's file with its own slots, so the figures cover the whole gateway on this host.
Percentiles are read from the merged buckets, interpolated inside the bucket that holds them.
"""

from __future__ import annotations

import bisect
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SLOT_SECONDS = 10
KEEP_SLOTS = 361  # an hour (the dashboard's longest chart) and the current slot
WINDOWS = {"1m": 60, "5m": 300, "15m": 900}
EDGES = tuple(0.0005 * 2 ** (k / 3) for k in range(49))
WIDTH = len(EDGES) + 2  # the buckets, the overflow bucket, then the error count
ERRORS = WIDTH - 1
STALE_FILE_SECONDS = 60.0

Slots = dict[int, list[int]]  # slot number -> counts


class Windows:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.services: dict[str, Slots] = {}

    def add(self, service: str, seconds: float, error: bool) -> None:
        slot = int(self.clock()) // SLOT_SECONDS
        slots = self.services.get(service)
        if slots is None:
            slots = self.services[service] = {}
        counts = slots.get(slot)
        if counts is None:
            counts = slots[slot] = [0] * WIDTH
            self._trim(slots, slot)
        counts[bisect.bisect_left(EDGES, seconds)] += 1
        if error:
            counts[ERRORS] += 1

    @staticmethod
    def _trim(slots: Slots, newest: int) -> None:
        for old in [s for s in slots if s <= newest - KEEP_SLOTS]:
            del slots[old]

    def snapshot(self) -> dict[str, Slots]:
        oldest = int(self.clock()) // SLOT_SECONDS - KEEP_SLOTS
        return {
            service: {slot: list(counts) for slot, counts in slots.items() if slot > oldest}
            for service, slots in self.services.items()
        }

    # --- sharing between worker processes -------------------------------------------------------

    def write(self, directory: str) -> None:
        data = {service: {str(k): v for k, v in slots.items()} for service, slots in self.snapshot().items()}
        path = Path(directory) / f"perf_{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        os.replace(tmp, path)

    def gather(self, directory: str | None) -> dict[str, Slots]:
        """This process's slots merged with those the other live workers wrote."""
        merged = self.snapshot()
        if directory is None:
            return merged
        mine = f"perf_{os.getpid()}.json"
        now = time.time()
        for path in Path(directory).glob("perf_*.json"):
            if path.name == mine:
                continue
            try:
                if now - path.stat().st_mtime > STALE_FILE_SECONDS:
                    continue
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for service, slots in data.items():
                into = merged.setdefault(service, {})
                for key, counts in slots.items():
                    _add_into(into, int(key), counts)
        return merged


def _add_into(slots: Slots, slot: int, counts: Iterable[int]) -> None:
    have = slots.get(slot)
    if have is None:
        slots[slot] = list(counts)
    else:
        for i, value in enumerate(counts):
            have[i] += value


def quantile(buckets: list[int], q: float) -> float | None:
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, count in enumerate(buckets):
        if count and seen + count >= rank:
            if i >= len(EDGES):
                return EDGES[-1]
            low = EDGES[i - 1] if i else 0.0
            return low + (EDGES[i] - low) * ((rank - seen) / count)
        seen += count
    return EDGES[-1]


def summarize(slots: Slots, now: float) -> dict[str, dict[str, Any]]:
    """Per window: requests, req/s, errors, error rate, p50/p95/p99 in milliseconds."""
    current = int(now) // SLOT_SECONDS
    out: dict[str, dict[str, Any]] = {}
    for name, seconds in WINDOWS.items():
        first = current - seconds // SLOT_SECONDS + 1
        buckets = [0] * (WIDTH - 1)
        errors = 0
        for slot, counts in slots.items():
            if slot >= first:
                for i in range(WIDTH - 1):
                    buckets[i] += counts[i]
                errors += counts[ERRORS]
        requests = sum(buckets)
        covered = max(now - first * SLOT_SECONDS, 1.0)
        out[name] = {
            "requests": requests,
            "rps": round(requests / covered, 3),
            "errors": errors,
            "error_rate": round(errors / requests, 4) if requests else 0.0,
            **{f"p{int(q * 100)}_ms": _ms(quantile(buckets, q)) for q in (0.5, 0.95, 0.99)},
        }
    return out


def timeline(slots: Slots, now: float, seconds: int, step: int) -> list[dict[str, Any]]:
    """The last ``seconds`` in points ``step`` seconds apart (a multiple of SLOT_SECONDS), oldest
    first, each with its start (Unix seconds), requests, req/s, error rate and p95 in milliseconds
    (None without requests). The newest point covers the slots up to now, so its req/s divides by
    the part of it that has passed."""
    per_point = max(step // SLOT_SECONDS, 1)
    current = int(now) // SLOT_SECONDS
    count = seconds // (per_point * SLOT_SECONDS)
    first = current - count * per_point + 1
    points = []
    for n in range(count):
        start = first + n * per_point
        present = [counts for slot in range(start, start + per_point) if (counts := slots.get(slot)) is not None]
        if not present:
            buckets, errors = [], 0
        elif len(present) == 1:
            buckets, errors = present[0][:-1], present[0][ERRORS]
        else:
            merged = [sum(column) for column in zip(*present, strict=True)]
            buckets, errors = merged[:-1], merged[ERRORS]
        requests = sum(buckets)
        covered = min(per_point * SLOT_SECONDS, max(now - start * SLOT_SECONDS, 1.0))
        points.append(
            {
                "at": start * SLOT_SECONDS,
                "requests": requests,
                "rps": round(requests / covered, 3),
                "error_rate": round(errors / requests, 4) if requests else 0.0,
                "p95_ms": _ms(quantile(buckets, 0.95)),
            }
        )
    return points


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


windows = Windows()
