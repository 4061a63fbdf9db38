"""The metrics observer: one ``Finished`` record in, a handful of pre-labelled increments out.

``.labels()`` costs several microseconds (a lock and a dictionary of label tuples), so each
(route, status class) gets its children once and keeps them in a plain dict keyed by strings, bound
to their bare increments (``proxy.metrics.hot``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from proxy.metrics import series
from proxy.metrics.hot import incrementer, observer

if TYPE_CHECKING:
    from proxy.observe import Finished

NO_ROUTE = "-"
STATUS_CLASSES = {0: "none", 1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
AUTH_STATUSES = frozenset({401, 403})
Increment = Callable[[float], None]
RATE_LIMITED = "rate_limited"  # the reason of a rate limit's 429 (ratelimit.errors)


@dataclass(slots=True)
class RouteChildren:
    service: str
    route: str
    upstream: Increment  # observe
    overhead: Increment  # observe
    bytes_in: Increment
    bytes_out: Increment
    by_class: dict[int, tuple[Increment, Increment]]  # requests inc, duration observe
    errors: dict[str, Any]
    auth: dict[str, Any]
    limited: Any = None

    def for_class(self, status: int) -> tuple[Increment, Increment]:
        cls = status // 100 if 100 <= status < 600 else 0
        children = self.by_class.get(cls)
        if children is None:
            name = STATUS_CLASSES[cls]
            children = (
                incrementer(series.REQUESTS.labels(self.service, self.route, name)),
                observer(series.REQUEST_DURATION.labels(self.service, self.route, name)),
            )
            self.by_class[cls] = children
        return children


class MetricsRecorder:
    """Subscribed to ``proxy.observe``; also feeds the performance windows."""

    def __init__(self, windows: Any = None) -> None:
        self.routes: dict[tuple[str, str], RouteChildren] = {}
        self.windows = windows

    def children(self, service: str, route: str) -> RouteChildren:
        key = (service, route)
        found = self.routes.get(key)
        if found is None:
            labels = (service, route)
            found = RouteChildren(
                service=service,
                route=route,
                upstream=observer(series.UPSTREAM_DURATION.labels(*labels)),
                overhead=observer(series.GATEWAY_DURATION.labels(*labels)),
                bytes_in=incrementer(series.REQUEST_BYTES.labels(*labels)),
                bytes_out=incrementer(series.RESPONSE_BYTES.labels(*labels)),
                by_class={},
                errors={},
                auth={},
            )
            self.routes[key] = found
        return found

    def __call__(self, record: Finished) -> None:
        spec = record.route
        endpoint = record.details.get("endpoint") if record.details else None
        if endpoint:  # a gateway endpoint that is not a route (the WebSocket fan-out, "ws")
            children = self.children(NO_ROUTE, str(endpoint))
        elif spec is None:
            children = self.children(NO_ROUTE, NO_ROUTE)
        else:
            children = self.children(spec.service.slug, spec.name)
        status = record.status
        requests, duration = children.for_class(status)
        requests(1)
        seconds = record.duration
        duration(seconds)
        upstream = record.upstream_seconds
        if upstream:
            children.upstream(upstream)
        children.overhead(seconds - upstream if seconds > upstream else 0.0)  # Finished.gateway_seconds
        if record.bytes_in:
            children.bytes_in(record.bytes_in)
        if record.bytes_out:
            children.bytes_out(record.bytes_out)
        kind = record.upstream_error
        if kind is not None and status >= 500:
            self._count(children.errors, series.UPSTREAM_ERRORS, children, kind)
        if status in AUTH_STATUSES and record.error_reason:
            self._count(children.auth, series.AUTH_FAILURES, children, record.error_reason)
        elif status == 429 and record.error_reason == RATE_LIMITED:
            if children.limited is None:
                children.limited = series.RATE_LIMITED.labels(children.service, children.route)
            children.limited.inc()
        if self.windows is not None and not endpoint:  # not "refused before routing" in the windows
            self.windows.add(children.service, seconds, status >= 500)

    @staticmethod
    def _count(cache: dict[str, Any], counter: Any, children: RouteChildren, value: str) -> None:
        child = cache.get(value)
        if child is None:
            child = cache[value] = counter.labels(children.service, children.route, value)
        child.inc()
