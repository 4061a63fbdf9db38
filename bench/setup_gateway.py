"""Create the benchmark's configuration: the no-policy route on /, and one route per measured policy.

    DATABASE_URL=... GATEWAY_VAR_DIR=... python bench/setup_gateway.py UPSTREAM_PORT

Run after ``manage.py migrate`` with the same environment. All routes forward to the same upstream:

- ``/`` (service ``bench``): no policies and ``audit`` off, the reference (every other route but
  ``/audit``, ``/defaults`` and ``/full`` has ``audit`` off too, so each row measures its own policy);
- ``/apikey`` (service ``bench``): ``auth_mode=api_key``, a key issued to the consumer ``bench``;
- ``/jwt`` (service ``bench``): ``auth_mode=jwt`` against the RS256 issuer ``bench-rs256`` (a key pair made
  here; one token signed with PyJWT, ``exp`` an hour ahead);
- ``/breaker`` (service ``bench-breaker``, ``breaker_enabled``): the in-memory breaker, since the bench
  strips REDIS_URL;
- ``/ws-echo`` (service ``bench-ws``, WebSocket allowed, no auth) to the WebSocket echo upstream, when
  its port is given as a second argument;
- ``/ratelimit`` (service ``bench``): one per-IP rate policy counted in Redis (``GATEWAY_RATELIMIT_REDIS_URL``,
  the bench's own redis-server), with a limit it never reaches;
- ``/ratelimit3`` (service ``bench``): ``auth_mode=api_key`` and three rate policies (global, per consumer,
  per IP) decided in one Redis call;
- ``/edge`` (service ``bench``): the edge policies together: CORS for ``https://bench.example`` (the
  row sends that Origin), the recommended security-header profile, a 50-entry IP allow list that
  includes 127.0.0.1, and three header transformations (a request header set with a template, one
  added, a response header added);
- ``/audit`` (service ``bench``): ``audit`` on, every request recorded; the gateway sends the records
  to the audit stream in the bench's own redis-server (``GATEWAY_AUDIT_REDIS_URL``, set by
  bench/servers.py), the production path; no audit worker runs, so the bench measures the gateway's
  share only;
- ``/defaults`` (service ``bench``): a route saved with every default of every section (audit on, as a
  new route gets it): ``make bench-targets`` measures it on a gateway in the embedded default;
- ``/full`` (service ``bench-breaker``): the full chain: API-key auth, three rate policies (global, per
  consumer, per IP) in Redis, the breaker, audit on (to the bench's audit stream), metrics and access line;
- ``/cache-hit`` (service ``bench``): the response cache on, in the bench's own redis-server
  (``GATEWAY_CACHE_REDIS_URL``), TTL an hour: after the first request every answer is a hit;
- ``/cache-miss`` (service ``bench``): the response cache on with TTL 0, and the upstream sends no
  Cache-Control, so no answer is ever stored: each request is a lookup, then the backend.

The rate policies fail closed, so a Redis that does not answer shows as 503s instead of a fast, unlimited row.

The last line of the output is JSON for bench/run.py: ``{"api_key": {...}, "jwt": {...}, "breaker": {...}, ...}``,
each ``{"path": ..., "authorization": ..., "headers": {...}}`` (authorization and headers only where the row
sends them) or ``{"error": ...}``: a policy that could not be configured fails its row only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ISSUER, AUDIENCE = "https://bench-idp.invalid", "gateway-bench"


def _api_key(service: Any) -> dict[str, str]:
    from registry.models import Consumer, Route
    from registry.services import issue_api_key

    consumer, _ = Consumer.objects.get_or_create(name="bench", defaults={"roles": "bench"})
    issued = issue_api_key(consumer, label="bench")  # the project's own hashing and pepper
    _route(Route(service=service, name="bench-apikey", path_prefix="/apikey", auth_mode=Route.AuthMode.API_KEY))
    return {"path": "/apikey", "authorization": f"Bearer {issued.key}"}


def _jwt(service: Any) -> dict[str, str]:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from registry.models import JwtIssuer, Route

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    JwtIssuer.objects.filter(name="bench-rs256").delete()
    issuer = JwtIssuer(
        name="bench-rs256", issuer=ISSUER, audience=AUDIENCE, algorithm=JwtIssuer.Algorithm.RS256, public_key=public_pem
    )
    issuer.full_clean()
    issuer.save()
    route = _route(Route(service=service, name="bench-jwt", path_prefix="/jwt", auth_mode=Route.AuthMode.JWT))
    route.jwt_issuers.set([issuer])
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now, "exp": now + 3600, "roles": ["bench"]}
    token = jwt.encode(claims, private, algorithm="RS256")
    return {"path": "/jwt", "authorization": f"Bearer {token}"}


def _breaker(upstream_port: int) -> dict[str, str]:
    from registry.models import Route, Service, Target
    from registry.sections import save_with_sections

    service = Service.objects.filter(slug="bench-breaker").first() or Service(slug="bench-breaker")
    save_with_sections(service, {"name": "bench-breaker", "breaker_enabled": True}, clean=False)
    Target.objects.update_or_create(service=service, host="127.0.0.1", defaults={"port": upstream_port})
    _route(Route(service=service, name="bench-breaker", path_prefix="/breaker"))
    return {"path": "/breaker"}


def _websocket(ws_port: int) -> dict[str, str]:
    from registry.models import Route, Service, Target

    service, _ = Service.objects.update_or_create(slug="bench-ws", defaults={"name": "bench-ws"})
    Target.objects.update_or_create(service=service, host="127.0.0.1", defaults={"port": ws_port})
    _route(Route(service=service, name="bench-ws", path_prefix="/ws-echo"), websocket=True)
    return {"path": "/ws-echo"}


NEVER = 10_000_000  # requests per minute: more than any bench run sends


def _rate_policy(name: str, scope: str, route: Any) -> None:
    from ratelimit.models import RatePolicy

    RatePolicy.objects.filter(name=name).delete()
    policy = RatePolicy(name=name, scope=scope, limit=NEVER, period=60, failure_mode=RatePolicy.FailureMode.CLOSED)
    policy.full_clean()
    policy.save()
    policy.routes.set([route])


def _needs_redis() -> None:
    if not os.environ.get("GATEWAY_RATELIMIT_REDIS_URL"):
        raise RuntimeError("no redis-server for the rate-limit rows (GATEWAY_RATELIMIT_REDIS_URL is not set)")


def _ratelimit(service: Any) -> dict[str, str]:
    from registry.models import Route

    _needs_redis()
    route = _route(Route(service=service, name="bench-ratelimit", path_prefix="/ratelimit"))
    _rate_policy("bench-ip", "client_ip", route)
    return {"path": "/ratelimit"}


def _ratelimit3(service: Any) -> dict[str, str]:
    from registry.models import Consumer, Route
    from registry.services import issue_api_key

    _needs_redis()
    consumer, _ = Consumer.objects.get_or_create(name="bench", defaults={"roles": "bench"})
    issued = issue_api_key(consumer, label="bench-ratelimit")
    route = _route(
        Route(service=service, name="bench-ratelimit3", path_prefix="/ratelimit3", auth_mode=Route.AuthMode.API_KEY)
    )
    for name, scope in (("bench3-global", "global"), ("bench3-consumer", "consumer"), ("bench3-ip", "client_ip")):
        _rate_policy(name, scope, route)
    return {"path": "/ratelimit3", "authorization": f"Bearer {issued.key}"}


EDGE_ORIGIN = "https://bench.example"


def _edge(service: Any) -> dict[str, Any]:
    from registry.models import Route

    allow = [f"198.51.{i}.0/24" for i in range(49)] + ["127.0.0.1"]
    _route(
        Route(service=service, name="bench-edge", path_prefix="/edge"),
        cors="on",
        cors_origins=EDGE_ORIGIN,
        security_headers="recommended",
        ip_allow="\n".join(allow),
        request_headers_set="X-Client: {client_address}",
        request_headers_add="X-Gateway-Route: {route}",
        response_headers_add="X-Served-By: gateway",
    )
    return {"path": "/edge", "headers": {"Origin": EDGE_ORIGIN}}


def _audited(service: Any) -> dict[str, str]:
    from registry.models import Route

    _route(Route(service=service, name="bench-audit", path_prefix="/audit"), audit=True)
    return {"path": "/audit"}


def _defaults(service: Any) -> dict[str, str]:
    from registry.models import Route
    from registry.sections import save_with_sections

    Route.objects.filter(name="bench-defaults").delete()
    save_with_sections(Route(service=service, name="bench-defaults", path_prefix="/defaults"), {})
    return {"path": "/defaults"}


def _full(upstream_port: int) -> dict[str, str]:
    from registry.models import Consumer, Route, Service
    from registry.services import issue_api_key

    _needs_redis()
    _breaker(upstream_port)
    service = Service.objects.get(slug="bench-breaker")
    consumer, _ = Consumer.objects.get_or_create(name="bench", defaults={"roles": "bench"})
    issued = issue_api_key(consumer, label="bench-full")
    route = _route(
        Route(service=service, name="bench-full", path_prefix="/full", auth_mode=Route.AuthMode.API_KEY), audit=True
    )
    for name, scope in (("full-global", "global"), ("full-consumer", "consumer"), ("full-ip", "client_ip")):
        _rate_policy(name, scope, route)
    return {"path": "/full", "authorization": f"Bearer {issued.key}"}


def _cached(service: Any, name: str, ttl: int) -> dict[str, str]:
    from registry.models import Route

    if not os.environ.get("GATEWAY_CACHE_REDIS_URL"):
        raise RuntimeError("no redis-server for the cache rows (GATEWAY_CACHE_REDIS_URL is not set)")
    _route(Route(service=service, name=f"bench-{name}", path_prefix=f"/{name}"), cache_enabled=True, cache_ttl=ttl)
    return {"path": f"/{name}"}


def _route(route: Any, audit: bool = False, **settings: Any) -> Any:
    from registry.models import Route
    from registry.sections import save_with_sections

    Route.objects.filter(name=route.name).delete()
    # Every row but /audit measures its own policy, without the audit trail's cost.
    return save_with_sections(route, {"audit": audit, **settings})


def _soft(make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return make()
    except Exception as exc:
        return {"error": f"setup failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}


def main(upstream_port: int, ws_port: int = 0) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    import django

    from gateway_project.bootstrap import prepare

    prepare()
    django.setup()
    from registry.models import Route, Service, Target

    service, _ = Service.objects.get_or_create(slug="bench", defaults={"name": "bench"})
    Target.objects.update_or_create(service=service, host="127.0.0.1", defaults={"port": upstream_port})
    _route(Route(service=service, name="bench", path_prefix="/", strip_prefix=True))
    print(f"bench service -> 127.0.0.1:{upstream_port}, route / (no policies)", file=sys.stderr)
    policies: dict[str, dict[str, Any]] = {
        "api_key": _soft(lambda: _api_key(service)),
        "jwt": _soft(lambda: _jwt(service)),
        "breaker": _soft(lambda: _breaker(upstream_port)),
        "ratelimit": _soft(lambda: _ratelimit(service)),
        "ratelimit3": _soft(lambda: _ratelimit3(service)),
        "edge": _soft(lambda: _edge(service)),
        "audit": _soft(lambda: _audited(service)),
        "defaults": _soft(lambda: _defaults(service)),
        "full": _soft(lambda: _full(upstream_port)),
        "cache_hit": _soft(lambda: _cached(service, "cache-hit", 3600)),
        "cache_miss": _soft(lambda: _cached(service, "cache-miss", 0)),
    }
    if ws_port:
        policies["websocket"] = _soft(lambda: _websocket(ws_port))
    for name, entry in policies.items():
        print(f"{name}: {entry.get('error') or 'route ' + entry['path']}", file=sys.stderr)
    print(json.dumps(policies))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
