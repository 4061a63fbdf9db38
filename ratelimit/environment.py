"""Rate limits from the environment (the variables of the gateway this one replaces).

    GLOBAL_RATE_LIMIT_REQUESTS / GATEWAY_GLOBAL_RATE_LIMIT_REQUESTS   requests per client address
    GLOBAL_RATE_LIMIT_PERIOD   / GATEWAY_GLOBAL_RATE_LIMIT_PERIOD     its period (60 s; 30s, 5m, 1h, 1d)
    USER_RATE_LIMIT_REQUESTS   / GATEWAY_USER_RATE_LIMIT_REQUESTS     requests per authenticated consumer
    USER_RATE_LIMIT_PERIOD     / GATEWAY_USER_RATE_LIMIT_PERIOD       its period

A set variable makes a policy (``env-global``: scope client IP, ``env-user``: scope consumer) on
every route, except the routes that have a policy of their own with that scope (``RateLimits``).
The rows are written at each process's start (``apply``), marked ``from_environment``: the admin
and the admin API show them but do not change them. Unset, the policy is removed. A malformed
value stops the start (``read``, from ``AppConfig.ready``) naming the variable.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)

DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class EnvPolicy:
    name: str
    variable: str  # the variable that set it, as spelled in the environment
    scope: str
    limit: int
    period: int


# (policy name, variable, period variable, scope, description)
VARIABLES = (
    ("env-global", "GLOBAL_RATE_LIMIT_REQUESTS", "GLOBAL_RATE_LIMIT_PERIOD", "client_ip", "per client address"),
    ("env-user", "USER_RATE_LIMIT_REQUESTS", "USER_RATE_LIMIT_PERIOD", "consumer", "per consumer"),
)
_read: tuple[EnvPolicy, ...] = ()


def _lookup(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    for spelled in (f"GATEWAY_{name}", name):
        value = environ.get(spelled)
        if value is not None and value.strip():
            return spelled, value.strip()
    return None


def read(environ: Mapping[str, str] = os.environ) -> tuple[EnvPolicy, ...]:
    """The policies the environment asks for; ``ImproperlyConfigured`` naming a malformed variable."""
    global _read
    found = []
    for name, variable, period_variable, scope, _ in VARIABLES:
        limit_value = _lookup(environ, variable)
        period_value = _lookup(environ, period_variable)
        period = 60
        if period_value is not None:
            match = DURATION.match(period_value[1].lower())
            if match is None or int(match[1]) < 1 or int(match[1]) * UNIT_SECONDS[match[2]] > 31 * 86400:
                spelled, raw = period_value
                raise ImproperlyConfigured(
                    f"{spelled} must be a period of 1 s to 31 days (60, 30s, 5m, 1h), got {raw!r}"
                )
            period = int(match[1]) * UNIT_SECONDS[match[2]]
        if limit_value is None:
            continue
        spelled, raw = limit_value
        if not raw.isdigit() or not 1 <= int(raw) <= 10_000_000:
            raise ImproperlyConfigured(f"{spelled} must be a whole number of requests from 1 to 10000000, got {raw!r}")
        found.append(EnvPolicy(name, spelled, scope, int(raw), period))
    _read = tuple(found)
    return _read


def apply(policies: tuple[EnvPolicy, ...] | None = None) -> bool:
    """Create or update the environment's policies and remove those no longer set; True if anything changed."""
    from ratelimit.models import RatePolicy
    from registry.actors import acting_as

    wanted = {p.name: p for p in (_read if policies is None else policies)}
    changed = False
    with acting_as("environment", "shell"), transaction.atomic():
        for stale in RatePolicy.objects.select_for_update().filter(from_environment=True):
            if stale.name not in wanted:
                stale.delete()
                changed = True
        for policy in wanted.values():
            description = f"From the environment ({policy.variable}): {_describe(policy)}."
            values = {"scope": policy.scope, "limit": policy.limit, "period": policy.period, "description": description}
            row = RatePolicy.objects.filter(name=policy.name).first()
            if row is not None and row.from_environment and all(getattr(row, k) == v for k, v in values.items()):
                continue
            if row is not None and not row.from_environment:
                log.error(
                    "a rate policy named %s exists and is not from the environment; %s is ignored",
                    policy.name,
                    policy.variable,
                )
                continue
            row = row or RatePolicy(name=policy.name, from_environment=True, all_routes=True)
            for key, value in values.items():
                setattr(row, key, value)
            row.save()
            changed = True
    return changed


def _describe(policy: EnvPolicy) -> str:
    where = next(d for n, *_, d in VARIABLES if n == policy.name)
    return (
        f"{policy.limit} requests per {policy.period} s {where}, on every route without its own {policy.scope} policy"
    )


async def start() -> None:
    import asyncio

    from registry.watch import watcher

    try:
        changed = await asyncio.get_running_loop().run_in_executor(None, _apply_in_thread)
    except Exception:
        log.exception("the rate limits from the environment could not be written; the stored ones apply")
        return
    if changed and watcher.running:
        await watcher.refresh()  # serve them before this process reports ready


def _apply_in_thread() -> bool:
    close_old_connections()
    return apply()
