"""CORS through a real gateway process: preflights answered by the gateway (never forwarded, before
authentication), allowed and refused origins, credentials, subdomain patterns, levels."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from registry.models import Route
from tests.support.config import ConfigHelper
from tests.support.http import call, get
from tests.support.servers import BackendThread, GatewayProcess

APP = "https://app.example"
PREFLIGHT = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "X-Trace, Content-Type"}


def cors_headers(reply: object) -> list[tuple[str, str]]:
    return [(n, v) for n, v in reply.headers if n.startswith("access-control-")]  # type: ignore[attr-defined]


def test_a_preflight_is_answered_by_the_gateway_before_authentication(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("shop", [edge_backend])
    config.route(
        service,
        "/shop",
        methods="GET,PUT",
        auth_mode=Route.AuthMode.API_KEY,
        cors="on",
        cors_origins=f"{APP}, https://admin.example",
        cors_max_age=600,
    )
    config.sync()
    before = edge_backend.count()

    reply = call(gateway, "OPTIONS", "/shop/items", {"Origin": APP, **PREFLIGHT})

    assert reply.status == 204
    assert reply.header("access-control-allow-origin") == APP
    assert reply.header("access-control-allow-methods") == "GET, PUT"
    assert reply.header("access-control-allow-headers") == "x-trace, content-type"
    assert reply.header("access-control-max-age") == "600"
    assert "origin" in (reply.header("vary") or "")
    assert not reply.has("access-control-allow-credentials")
    assert edge_backend.count() == before


def test_an_allowed_origin_gets_cors_headers_on_answers_and_on_gateway_errors(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("shop", [edge_backend])
    route = config.route(
        service,
        "/shop",
        auth_mode=Route.AuthMode.API_KEY,
        cors="on",
        cors_origins=APP,
        cors_credentials=True,
        cors_expose_headers="X-Request-ID, RateLimit",
    )
    consumer = config.consumer("alice")
    _, key = config.api_key(consumer)
    config.sync()

    answer = get(gateway, "/shop/own-cors", {"Origin": APP, "Authorization": f"Bearer {key}"})
    refused = get(gateway, "/shop/own-cors", {"Origin": APP})

    assert answer.status == 200
    # The backend's own Access-Control-Allow-Origin is replaced, never sent beside the gateway's.
    assert answer.all("access-control-allow-origin") == [APP]
    assert answer.header("access-control-allow-credentials") == "true"
    assert answer.header("access-control-expose-headers") == "x-request-id, ratelimit"
    assert "origin" in answer.all("vary")
    assert refused.status == 401 and refused.problem("missing_credentials")
    assert refused.header("access-control-allow-origin") == APP
    assert route.pk


def test_a_refused_origin_gets_no_cors_headers_and_its_preflight_is_not_forwarded(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("shop", [edge_backend])
    config.route(service, "/shop", cors="on", cors_origins=APP, cors_credentials=True)
    config.sync()
    before = edge_backend.count()

    preflight = call(gateway, "OPTIONS", "/shop/x", {"Origin": "https://evil.example", **PREFLIGHT})
    actual = get(gateway, "/shop/own-cors", {"Origin": "https://evil.example"})

    assert preflight.status == 204 and cors_headers(preflight) == []
    assert edge_backend.count() == before + 1  # only the actual request: CORS is the browser's to enforce
    assert actual.status == 200 and cors_headers(actual) == []
    assert actual.header("vary") == "origin"  # caches must not serve this answer to an allowed origin


def test_subdomain_patterns_match_subdomains_of_the_same_scheme_and_port_only(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("shop", [edge_backend])
    config.route(service, "/shop", cors="on", cors_origins="https://*.example.com, http://localhost:3000")
    config.sync()

    def allowed(origin: str) -> str | None:
        return get(gateway, "/shop/x", {"Origin": origin}).header("access-control-allow-origin")

    assert allowed("https://a.example.com") == "https://a.example.com"
    assert allowed("https://deep.a.example.com") == "https://deep.a.example.com"
    assert allowed("http://localhost:3000") == "http://localhost:3000"
    for refused in (
        "https://example.com",
        "http://a.example.com",
        "https://a.example.com:8443",
        "https://a.example.com.evil.net",
        "https://evilexample.com",
        "http://localhost:3001",
        "null",
    ):
        assert allowed(refused) is None, refused


def test_any_origin_without_credentials_answers_star(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("shop", [edge_backend])
    config.route(service, "/shop", cors="on", cors_origins="*")
    config.sync()

    reply = get(gateway, "/shop/x", {"Origin": "https://anyone.example"})

    assert reply.header("access-control-allow-origin") == "*"
    assert not reply.has("vary")


def test_service_cors_applies_to_its_routes_unless_a_route_turns_it_off(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("shop", [edge_backend], cors="on", cors_origins=APP)
    config.route(service, "/inherits")
    config.route(service, "/private", cors="off")
    config.sync()

    assert get(gateway, "/inherits/x", {"Origin": APP}).header("access-control-allow-origin") == APP
    assert get(gateway, "/private/x", {"Origin": APP}).header("access-control-allow-origin") is None


def test_a_plain_options_request_on_a_route_without_options_is_405(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("shop", [edge_backend])
    config.route(service, "/shop", methods="GET", cors="on", cors_origins=APP)
    config.sync()

    reply = call(gateway, "OPTIONS", "/shop/x", {"Origin": APP})

    assert reply.status == 405 and reply.problem("method_not_allowed")
    assert reply.header("allow") == "GET"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"cors_origins": "*", "cors_credentials": True}, "cors_origins", "with credentials"),
        ({"cors_origins": "null"}, "cors_origins", "sandboxed"),
        ({"cors_origins": "https://app.example/path"}, "cors_origins", "not an origin"),
        ({"cors_origins": "ftp://app.example"}, "cors_origins", "not an origin"),
        ({"cors_origins": ""}, "cors_origins", "at least one origin"),
        ({"cors_origins": APP, "cors_methods": "GET, TRACE"}, "cors_methods", "TRACE"),
        ({"cors_origins": APP, "cors_allow_headers": "X-Ok, Bad Header"}, "cors_allow_headers", "not a header name"),
        (
            {"cors_origins": APP, "cors_credentials": True, "cors_expose_headers": "*"},
            "cors_expose_headers",
            "header named",
        ),
    ],
)
def test_bad_cors_settings_are_refused_with_the_field_and_the_reason(
    fields: dict[str, object], field: str, reason: str
) -> None:
    from registry.models import Service
    from registry.sections import save_with_sections

    service = Service.objects.create(name="Shop", slug="shop")
    with pytest.raises(ValidationError) as raised:
        save_with_sections(Route(), {"service": service, "name": "r", "path_prefix": "/r", "cors": "on", **fields})
    assert reason in " ".join(raised.value.message_dict.get(field, [])), raised.value.message_dict
