"""The metrics endpoints (Django; ``/metrics`` is a reserved prefix, see proxy/reserved.py).

/metrics                Prometheus text format. With GATEWAY_METRICS_TOKEN set: that bearer token or a
                        staff session; without: loopback peers and staff sessions only.
/metrics/json           the same series as JSON                 } staff session or the bearer token
/metrics/performance    p50/p95/p99, req/s, error rate per      }
                        service over 1, 5, 15 minutes           }
/metrics/health-score   0-100 per service and overall           }
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from proxy.metrics import exposition, multiproc, score, sources
from proxy.metrics.windows import summarize, windows

View = Callable[[HttpRequest], HttpResponse]


def _staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def _token_ok(request: HttpRequest) -> bool:
    token = settings.GATEWAY_METRICS_TOKEN
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    return given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode())


def _loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _refused(request: HttpRequest) -> JsonResponse:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:  # signed in, but not staff
        return JsonResponse({"detail": "Staff only."}, status=403)
    response = JsonResponse({"detail": "Staff session or metrics token required."}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    allowed = _staff(request) or (_token_ok(request) if settings.GATEWAY_METRICS_TOKEN else _loopback(request))
    if not allowed:
        return _refused(request)
    return HttpResponse(exposition.text(), content_type=CONTENT_TYPE_LATEST)


def _restricted(view: View) -> View:
    def wrapped(request: HttpRequest) -> HttpResponse:
        if not (_staff(request) or _token_ok(request)):
            return _refused(request)
        return view(request)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return never_cache(require_safe(wrapped))


@_restricted
def metrics_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"metrics": exposition.as_json()})


def performance_figures() -> dict[str, dict[str, Any]]:
    now = time.time()
    merged = windows.gather(multiproc.directory())
    return {service: summarize(slots, now) for service, slots in sorted(merged.items())}


@_restricted
def performance(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"generated_at": time.time(), "services": performance_figures()})


def health_scores(figures: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    figures = performance_figures() if figures is None else figures
    states = sources.service_states()
    target = settings.GATEWAY_LATENCY_TARGET_SECONDS
    names = sorted((set(figures) | set(states)) - {"-"})
    scores = {n: score.score_service(figures.get(n, {}).get("5m"), states.get(n), target) for n in names}
    requests = {n: figures.get(n, {}).get("5m", {}).get("requests", 0) for n in names}
    return {
        "overall": score.overall(scores, requests),
        "window": "5m",
        "latency_target_ms": target * 1000,
        "services": {
            n: {"score": s.score, "parts": {"errors": s.errors, "latency": s.latency, "availability": s.availability}}
            for n, s in scores.items()
        },
    }


@_restricted
def health_score(request: HttpRequest) -> HttpResponse:
    return JsonResponse(health_scores())
