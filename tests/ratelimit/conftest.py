from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytest

from ratelimit.backends import KEY_PREFIX, SHADOW_PREFIX
from ratelimit.models import RatePolicy
from registry.models import Consumer, Route, Service
from tests.support.redis_server import forget_keys

# Gateway processes started by tests inherit this: on a loaded CI machine a Redis answer can take longer
# than the production default (50 ms), which would turn exact counts into per-process fallback counts.
# The fault tests set their own short timeout.
os.environ.setdefault("GATEWAY_RATELIMIT_REDIS_TIMEOUT", "1")


@pytest.fixture(scope="session", autouse=True)
def forget_counters_of_earlier_runs() -> None:
    forget_keys(KEY_PREFIX, SHADOW_PREFIX)


def make_policy(
    name: str,
    limit: int,
    *,
    routes: Sequence[Route] = (),
    services: Sequence[Service] = (),
    consumers: Sequence[Consumer] = (),
    **fields: Any,
) -> RatePolicy:
    """A validated, saved policy with its attachments (each save bumps the config version)."""
    policy = RatePolicy(name=name, limit=limit, **fields)
    policy.full_clean()
    policy.save()
    policy.routes.set(routes)
    policy.services.set(services)
    policy.consumers.set(consumers)
    return policy
