"""Shared test configuration.

Tests marked ``needs_redis`` or ``needs_postgres`` run against the real servers named by
``REDIS_URL`` / ``DATABASE_URL``. Without them the tests skip on a laptop, but with
``GATEWAY_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing server fails the run instead.
"""

from __future__ import annotations

import os

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
