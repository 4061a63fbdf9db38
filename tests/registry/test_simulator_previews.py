"""The simulator's previews that need no gateway process: CORS, IP lists, transformations, breaker
state read from Redis, a rate limit whose Redis does not answer, and "send it for real" to a real
backend (answer shown, failure a message, the send audited)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from breaker.backends import KEY_PREFIX as BREAKER_PREFIX
from breaker.backends import RedisBackend as BreakerRedis
from compliance.models import AuditEvent
from ratelimit.backends import RedisBackend as CounterRedis
from ratelimit.fallback import Counters
from ratelimit.models import RatePolicy
from ratelimit.policies import RateLimitPolicy
from registry.models import Route, Service, Target
from registry.sections import save_with_sections
from registry.simulate import simulate
from registry.snapshot import build_table
from tests.proxy.raw_backend import CertificateAuthority
from tests.support.redis_server import forget_keys
from tests.support.servers import BackendThread, free_port
from tests.support.tls_backend import TLSBackend, server_context

pytestmark = pytest.mark.django_db


def service(slug: str, ports: list[int], **fields: object) -> Service:
    made = save_with_sections(Service(), {"name": slug.title(), "slug": slug, **fields}, clean=False)
    for port in ports:
        Target.objects.create(service=made, host="127.0.0.1", port=port)
    return made


def route(svc: Service, prefix: str, **fields: object) -> Route:
    return save_with_sections(Route(), {"service": svc, "name": prefix.strip("/"), "path_prefix": prefix, **fields})


def step(result: object, policy: str) -> str:
    return next(s.decision for s in result.steps if s.policy == policy)  # type: ignore[attr-defined]


def test_it_answers_a_preflight_and_says_which_origins_are_allowed() -> None:
    svc = service("shop", [8080])
    route(svc, "/shop", cors="on", cors_origins="https://app.example.com")
    origin = ("Origin", "https://app.example.com")

    preflight = simulate("OPTIONS", "h", "/shop/x", [origin, ("Access-Control-Request-Method", "POST")])
    allowed = simulate("GET", "h", "/shop/x", [origin])
    refused = simulate("GET", "h", "/shop/x", [("Origin", "https://evil.example")])

    assert preflight.status == 204 and "allowing https://app.example.com" in preflight.outcome
    assert preflight.upstream_url is not None and preflight.real is None
    assert step(allowed, "cors").startswith("origin https://app.example.com allowed: Access-Control-Allow-Origin")
    assert step(refused, "cors").startswith("origin https://evil.example not allowed")
    assert allowed.status is None and refused.status is None  # the backend still answers; the browser refuses


def test_it_checks_the_client_address_against_the_ip_lists() -> None:
    svc = service("office", [8080])
    route(svc, "/office", ip_allow="10.0.0.0/8", ip_deny="10.6.6.0/24")

    default = simulate("GET", "h", "/office/x")
    inside = simulate("GET", "h", "/office/x", client_address="10.1.2.3")
    denied = simulate("GET", "h", "/office/x", client_address="10.6.6.6")

    assert default.client_address == "127.0.0.1" and default.status == 403
    assert default.outcome == "403 ip_denied: client 127.0.0.1 may not call this route (an allow list and a deny list)"
    assert inside.status is None and step(inside, "ip_lists").startswith("client 10.1.2.3 may call")
    assert denied.status == 403


def test_the_upstream_url_is_the_rewritten_one_and_transformations_are_described() -> None:
    svc = service("orders", [8080], base_path="/internal")
    route(
        svc,
        "/orders",
        path_rewrite=r"^/internal/v1/(?P<rest>.*)$",
        path_rewrite_to=r"/api/\g<rest>",
        request_headers_remove="X-Debug",
        response_headers_set="X-Frame-Options: DENY",
    )

    result = simulate("GET", "h", "/orders/v1/list?x=1")

    assert result.upstream_url == "http://127.0.0.1:8080/api/list?x=1"
    assert "rewrites the path /internal/v1/list to /api/list" in step(result, "request_transform")
    assert "removes x-debug" in step(result, "request_transform")
    assert step(result, "edge_response").startswith("response: sets x-frame-options: DENY")


@pytest.fixture
def breakers() -> Iterator[None]:
    forget_keys(BREAKER_PREFIX)
    yield
    forget_keys(BREAKER_PREFIX)


def open_breaker(target_index: int, prefix: str) -> None:
    """Trip one target's breaker in the shared Redis the way the data plane does (one failure)."""
    compiled = next(r for r in build_table().routes if r.spec.prefix == prefix)
    gate = compiled.upstream.gate
    assert gate is not None

    async def trip() -> None:
        backend = BreakerRedis(settings.REDIS_URL, 1.0, 5.0)
        await backend.record(gate.ids[target_index], gate.settings[target_index], failed=True, probe=False)  # type: ignore[attr-defined]
        await backend.close()

    asyncio.run(trip())


@pytest.mark.skipif(not settings.REDIS_URL, reason="the shared breaker state needs REDIS_URL")
def test_an_open_breaker_is_shown_and_its_target_skipped_and_all_open_is_a_503(breakers: None) -> None:
    svc = service("pay", [9001, 9002], breaker_enabled=True, breaker_failures=1, breaker_open_seconds=30)
    route(svc, "/pay")
    closed = simulate("GET", "h", "/pay/x")

    open_breaker(0, "/pay")
    one_open = [simulate("GET", "h", "/pay/x") for _ in range(3)]
    open_breaker(1, "/pay")
    both_open = simulate("GET", "h", "/pay/x")

    assert step(closed, "breaker") == "127.0.0.1:9001: closed; 127.0.0.1:9002: closed"
    assert {r.target for r in one_open} == {"127.0.0.1:9002"}
    assert step(one_open[0], "breaker").startswith("127.0.0.1:9001: open for ")
    assert "refuses requests; 127.0.0.1:9002: closed" in step(one_open[0], "breaker")
    assert both_open.status == 503 and both_open.outcome.startswith("503 circuit_open:")
    assert both_open.upstream_url is None


def test_a_rate_limit_whose_redis_does_not_answer_says_so_and_what_its_failure_mode_does() -> None:
    svc = service("limited", [8080])
    limited = route(svc, "/limited")
    policy = RatePolicy.objects.create(name="strict", limit=5, period=60, failure_mode="closed")
    policy.routes.set([limited])
    compiled = next(r for r in build_table().routes if r.spec.prefix == "/limited")
    real = next(p for p in compiled.policies if isinstance(p, RateLimitPolicy))
    dead = RateLimitPolicy(real.rules, Counters(CounterRedis(f"redis://127.0.0.1:{free_port()}", 0.2), 1.0))

    decision, stops = dead.explain(type("Carrier", (), {"identity": None, "client_address": "127.0.0.1"})())

    assert stops and decision.startswith("503 ratelimit_unavailable, if the gateway cannot reach Redis either.")
    assert "strict: if Redis fails, closed (503 ratelimit_unavailable)" in decision


def test_send_it_for_real_shows_the_backends_answer_and_is_audited(backend: BackendThread) -> None:
    svc = service("echo", [backend.port])
    route(svc, "/echo", request_headers_set="X-Via-Simulator: yes")
    before = backend.count()
    client = APIClient()
    client.force_authenticate(User.objects.create_user("ops", is_staff=True))

    dry = client.post("/admin/api/simulate", {"host": "h", "path": "/echo/a"}, format="json").json()
    sent = client.post(
        "/admin/api/simulate",
        {"method": "POST", "host": "h", "path": "/echo/a?q=1", "body": "hello", "send": True, "client_address": "::1"},
        format="json",
    ).json()

    assert dry["real"] is None and dry["client_address"] == "127.0.0.1"
    assert backend.count() == before + 1  # only the explicit send reached it
    real = sent["real"]
    assert (real["sent"], real["status"], real["message"]) == (True, 200, "")
    echoed = json.loads(real["body"])
    assert echoed["path"] == "/a" and echoed["query"] == "q=1" and sent["client_address"] == "::1"
    assert any(name.lower() == "content-type" for name, _ in real["headers"])
    event = AuditEvent.objects.get(action="gateway.simulator.sent")
    assert (event.actor, event.source, event.method, event.status) == ("ops", "api", "POST", 200)
    assert event.data["url"] == f"http://127.0.0.1:{backend.port}/a?q=1"


def test_a_send_that_fails_is_a_message_and_a_refused_request_is_not_sent(admin_client: object) -> None:
    svc = service("dead", [free_port()])
    route(svc, "/dead")
    route(svc, "/keyed", auth_mode="api_key")

    failed = simulate("GET", "h", "/dead/x", send=True)
    refused = simulate("GET", "h", "/keyed/x", send=True)
    page = admin_client.post(  # type: ignore[attr-defined]
        "/admin/simulator/", {"method": "GET", "host": "h", "path": "/dead/x", "send": "on", "client_address": ""}
    )

    assert failed.real is not None and failed.real.sent and failed.real.status is None
    assert failed.real.message.startswith("Failed: ConnectError")
    assert refused.real is not None and not refused.real.sent and "(401 missing_credentials)" in refused.real.message
    assert page.status_code == 200 and "Failed: ConnectError" in page.content.decode()


def test_send_it_for_real_verifies_an_https_backend_with_the_services_ca_bundle(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path, "Simulator CA")
    server = TLSBackend(server_context(*ca.issue("backend", server=True, addresses=("127.0.0.1",)))).start()
    try:
        trusted = service("trusted", [server.port], protocol="https", tls_ca_bundle=ca.pem)
        untrusted = service("untrusted", [server.port], protocol="https")
        route(trusted, "/trusted")
        route(untrusted, "/untrusted")

        sent = simulate("GET", "h", "/trusted/x", send=True).real
        refused = simulate("GET", "h", "/untrusted/x", send=True).real
    finally:
        server.stop()

    assert sent is not None and sent.status == 200, sent
    assert refused is not None and refused.status is None and "CERTIFICATE_VERIFY_FAILED" in refused.message
    assert server.connections == 1  # the refused one never completed a handshake
