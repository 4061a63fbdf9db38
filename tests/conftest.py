"""Shared test configuration.

Tests marked ``needs_redis`` or ``needs_postgres`` run against the real servers named by
``REDIS_URL`` / ``DATABASE_URL``. Without them the tests skip on a laptop, but with
``GATEWAY_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing server fails the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

REQUIRE_SERVICES = os.environ.get("GATEWAY_REQUIRE_SERVICES") == "1"


def _missing(item: pytest.Item) -> str | None:
    if item.get_closest_marker("needs_redis") and not os.environ.get("REDIS_URL"):
        return "REDIS_URL is not set"
    if item.get_closest_marker("needs_postgres") and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return "DATABASE_URL does not name a Postgres database"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing(item)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}, and GATEWAY_REQUIRE_SERVICES=1 forbids skipping {item.nodeid}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_leaked_actor() -> Iterator[None]:
    """Celery's task_prerun (gateway_project/celery.py) names the worker process as the actor for
    good; a task applied eagerly in a test would otherwise leave "celery" acting for every later test."""
    from registry.actors import _actor

    token = _actor.set(None)
    yield
    _actor.reset(token)


# --- End-to-end fixtures: real backends and a real gateway process --------------------------------


from tests.support.config import ConfigHelper  # noqa: E402
from tests.support.servers import BackendThread, GatewayProcess  # noqa: E402


@pytest.fixture
def backend() -> Iterator[BackendThread]:
    server = BackendThread("backend-a").start()
    yield server
    server.stop()


@pytest.fixture
def backend_b() -> Iterator[BackendThread]:
    server = BackendThread("backend-b").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gateway(django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    """One gateway process for the session, serving whatever the test database holds."""
    process = GatewayProcess().start()
    yield process
    process.stop()


@pytest.fixture
def config(transactional_db: None, gateway: GatewayProcess) -> ConfigHelper:
    """Create services and routes in the real database and wait until the gateway serves them."""
    return ConfigHelper(gateways=[gateway])


@pytest.fixture(scope="session", autouse=True)
def _flush_retries_a_deadlock() -> Iterator[None]:
    """A transactional test ends by emptying every table (one TRUNCATE, Django's flush). A gateway
    process the test started may still be writing (breaker events, health results, API key usage),
    and Postgres then picks one of the two as a deadlock victim; when it picks the flush, the flush
    is run again (the gateway's write is over by then) instead of failing a test that passed."""
    from django.core.management.commands import flush
    from django.db import OperationalError

    original = flush.Command.handle

    def handle(self: flush.Command, **options: object) -> None:
        for attempt in range(3):
            try:
                return original(self, **options)
            except Exception as exc:  # flush wraps the database's error in a CommandError
                if (
                    attempt == 2
                    or not isinstance(exc.__cause__, OperationalError)
                    or "deadlock" not in str(exc.__cause__)
                ):
                    raise
        return None

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]
