"""Per-request increments without prometheus-client's per-call checks.

``Counter.inc`` and ``Histogram.observe`` check, on every call, that the object is a labelled child
and that the amount is valid, and a histogram walks its bounds one by one: about a microsecond each,
several times per request. A labelled child holds plain value objects (``_value``; ``_sum`` and one
per bucket), whose ``inc`` is the same locked (or, with several workers, mmap-backed) write the
public methods end in. These helpers bind those objects once per child and do only that write (a
bisect picks the bucket: the first bound not below the amount, as ``observe`` does). A child whose
internals are not the expected ones (another prometheus-client) falls back to the public method;
``tests/metrics/test_hot_increments.py`` keeps the two in step.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any


def incrementer(child: Any) -> Callable[[float], None]:
    """``child.inc`` for an amount known to be non-negative."""
    value = getattr(child, "_value", None)
    inc = getattr(value, "inc", None)
    return inc if callable(inc) else child.inc


def observer(child: Any) -> Callable[[float], None]:
    """``child.observe`` of a histogram child."""
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if not bounds or buckets is None or len(buckets) != len(bounds) or total is None or bounds[-1] != float("inf"):
        return child.observe
    bounds = tuple(bounds)
    incs = tuple(bucket.inc for bucket in buckets)
    add = total.inc

    def observe(amount: float) -> None:
        add(amount)
        incs[bisect_left(bounds, amount)](1)

    return observe
