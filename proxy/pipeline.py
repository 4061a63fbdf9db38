"""The policy chain: one small object per policy, built once per route at compile time.

A policy answers early (returns its own ``Response`` or raises a ``GatewayError``) or awaits
``call_next`` and may look at the result. ``settings.GATEWAY_POLICIES`` lists the policies,
outermost first; each entry is a dotted path to a class with
``for_route(route, snapshot) -> policy | None``, so a route only pays for the policies it actually
uses. ``snapshot`` is the whole compiled configuration: a feature app finds the data it loaded for
itself in ``snapshot.extensions[name]`` (see ``registry.snapshot.register_loader``).

A policy that answers some methods itself names them in ``extra_methods`` (a frozenset): the route
then matches them even when its own method list does not (CORS preflights, ``OPTIONS``, on a
``GET``-only route), and the policy refuses what it does not answer (405).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Protocol

from django.utils.module_loading import import_string

from proxy.exchange import Exchange, Response

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot

Handler = Callable[[Exchange], Awaitable[Response]]


class Policy(Protocol):
    name: str

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response: ...


class PolicyFactory(Protocol):
    def for_route(self, route: RouteSpec, snapshot: Snapshot) -> Policy | None: ...


def load_factories(paths: Sequence[str]) -> list[PolicyFactory]:
    return [import_string(path) for path in paths]


def policies_for(route: RouteSpec, snapshot: Snapshot, factories: Sequence[PolicyFactory]) -> tuple[Policy, ...]:
    return tuple(p for p in (f.for_route(route, snapshot) for f in factories) if p is not None)


def build_chain(policies: Sequence[Policy], terminal: Handler) -> Handler:
    # partial() rather than a wrapper coroutine: each step costs one coroutine frame, not two.
    handler = terminal
    for policy in reversed(policies):
        handler = partial(policy.__call__, call_next=handler)
    return handler
