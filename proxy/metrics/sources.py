"""Seams through which feature apps add what only they know to the metrics endpoints.

- ``add_collector(collector)``: a prometheus-client collector run when ``/metrics`` is scraped (for
  state that lives in a shared store, such as breaker state in Redis or health check results in the
  database: read once per scrape, not once per worker).
- ``add_service_states(fn)``: ``fn()`` returns ``{service slug: ServiceState}`` for the health score
  and the admin overview.
- ``add_overview_column(OverviewColumn(title, fn))``: one more column of the admin overview, ``fn()``
  returning ``{service slug: value}`` (a service it leaves out shows "-"), such as the response
  cache's hit ratio.

Register both from an ``AppConfig.ready``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceState:
    name: str
    targets_total: int
    targets_available: int  # neither failing its health check nor behind an open breaker
    breakers_open: int
    health: str  # healthy, degraded, unhealthy, stale, unknown


@dataclass(frozen=True, slots=True)
class OverviewColumn:
    title: str
    values: Callable[[], dict[str, Any]]  # by service slug


collectors: list[Any] = []
_state_sources: list[Callable[[], dict[str, ServiceState]]] = []
_columns: list[OverviewColumn] = []


def add_collector(collector: Any) -> None:
    if collector not in collectors:
        collectors.append(collector)


def add_service_states(fn: Callable[[], dict[str, ServiceState]]) -> None:
    if fn not in _state_sources:
        _state_sources.append(fn)


def service_states() -> dict[str, ServiceState]:
    found: dict[str, ServiceState] = {}
    for source in _state_sources:
        try:
            found.update(source())
        except Exception:
            log.exception("a service state source failed")
    return found


def add_overview_column(column: OverviewColumn) -> None:
    if column not in _columns:
        _columns.append(column)


def overview_columns() -> list[tuple[str, dict[str, Any]]]:
    """Each added column's title and values; a failing source shows as an empty column."""
    found = []
    for column in _columns:
        try:
            values = column.values()
        except Exception:
            log.exception("overview column %r failed", column.title)
            values = {}
        found.append((column.title, values))
    return found
