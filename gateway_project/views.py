"""Health endpoints and problem+json error pages for the paths Django serves (at the top: they read
every layer).

/health           liveness: the process answers
/ready            database (and Redis when configured) reachable, routing table loaded
/health/startup   migrations applied and the first routing table built
/health/detailed  every component with its latency, and the config version each process serves
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CheckTimeout
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, close_old_connections, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from proxy.errors import BadRequest, DependencyDown, Forbidden, GatewayError, NoRoute, problem_response
from proxy.redis_clients import get_many, sync_client
from proxy.serving import serving
from registry.watch import PROCESS_KEY, watcher

_migrations_done = False


# Checks run here, each with a deadline, so a dependency that hangs (a database whose packets are
# dropped) turns into a failed check within GATEWAY_HEALTH_CHECK_TIMEOUT rather than a stuck probe.
_checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health-check")


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    timeout = settings.GATEWAY_HEALTH_CHECK_TIMEOUT
    try:
        result = {"status": "ok", **_checks.submit(check).result(timeout)}
    except CheckTimeout:
        result = {"status": "fail", "error": f"no answer within {timeout:g} s"}
    except Exception as exc:
        result = {"status": "fail", "error": type(exc).__name__ + (f": {exc}" if str(exc) else "")}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database() -> dict[str, Any]:
    close_old_connections()  # this checker thread's own connection, dropped once broken or old
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _redis() -> dict[str, Any]:
    with sync_client() as client:
        client.ping()
    return {}


def _config() -> dict[str, Any]:
    if watcher.table is None:
        raise RuntimeError("no routing table loaded")
    status = watcher.status()
    if status["last_error"]:
        return {"status": "degraded", **status}
    return status


def _served_version() -> dict[str, Any]:
    return {"served_version": _config()["served_version"]}


def _migrations() -> dict[str, Any]:
    global _migrations_done
    close_old_connections()
    if not _migrations_done:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise RuntimeError(f"{len(pending)} migrations not applied")
        _migrations_done = True
    return {}


def _processes() -> list[dict[str, Any]]:
    with sync_client() as client:
        keys = sorted(client.scan_iter(match=PROCESS_KEY + "*", count=100))
        values = get_many(client, keys)
    return [json.loads(v) for v in values if v]


def _answer(checks: dict[str, dict[str, Any]], extra: dict[str, Any] | None = None) -> JsonResponse:
    healthy = all(c["status"] in ("ok", "degraded") for c in checks.values())
    body = {"status": "ok" if healthy else "fail", "checks": checks, **(extra or {})}
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    if serving.draining:
        return JsonResponse({"status": "draining", "checks": {}}, status=503)
    checks = {"database": _timed(_database)}
    if settings.REDIS_URL:
        checks["redis"] = _timed(_redis)
    checks["config"] = _timed(_served_version)
    return _answer(checks)


@never_cache
def startup(request: HttpRequest) -> JsonResponse:
    return _answer({"migrations": _timed(_migrations), "config": _timed(_served_version)})


@never_cache
def detailed(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "config": _timed(_config)}
    extra: dict[str, Any] = {"mode": "production" if settings.REDIS_URL else "embedded"}
    if settings.REDIS_URL:
        checks["redis"] = _timed(_redis)
        try:
            extra["processes"] = _processes()
        except Exception as exc:
            extra["processes_error"] = repr(exc)
    return _answer(checks, extra)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, BadRequest("The request could not be understood."))


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, Forbidden("You are not allowed to do this."))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/admin/api/"):
        return problem_response(request, Forbidden(f"CSRF check failed: {reason}", reason="csrf_failed"))
    from django.views.csrf import csrf_failure as django_page

    return django_page(request, reason)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, NoRoute(f"Nothing is served at {request.path}.", reason="not_found"))


def server_error(request: HttpRequest) -> HttpResponse:
    # Called while the exception is being handled: a database that does not answer is the
    # dependency's failure, not ours, and a retry may well succeed.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        error = DependencyDown(
            "The configuration database is not answering; retry in a moment.",
            reason="database_unavailable",
            headers=[(b"retry-after", b"5")],
        )
        return problem_response(request, error)
    return problem_response(request, GatewayError("The gateway failed while handling this request."))
