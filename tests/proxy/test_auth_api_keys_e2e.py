"""API keys through the real gateway to a real backend: acceptance, refusals, roles, headers, rotation."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from registry.models import ApiKey, Consumer, Route, Service
from registry.services import revoke_api_key, rotate_api_key
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.servers import BackendThread, GatewayProcess


def keyed_route(config: ConfigHelper, backend: BackendThread, **fields: Any) -> tuple[Service, Route]:
    service = config.service("orders", targets=[backend])
    route = config.route(service, "/orders", auth_mode="api_key", **fields)
    return service, route


def with_key(config: ConfigHelper, backend: BackendThread, roles: str = "", **fields: Any) -> tuple[Consumer, str]:
    keyed_route(config, backend, **fields)
    consumer = config.consumer("alice", roles=roles)
    _, key = config.api_key(consumer)
    config.sync()
    return consumer, key


def assert_refused(reply: Reply, reason: str = "invalid_credentials") -> None:
    assert reply.status == 401, reply
    reply.problem(reason)
    challenge = reply.header("www-authenticate")
    assert challenge is not None and challenge.startswith("ApiKey")


def test_it_forwards_a_request_with_a_valid_key_as_bearer(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend)

    reply = get(gateway, "/orders/1", {"Authorization": f"Bearer {key}"})

    assert reply.status == 200, reply
    assert reply.json()["path"] == "/1"


def test_it_accepts_the_apikey_scheme_and_a_configured_header(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend, api_key_header="X-Api-Key")

    assert get(gateway, "/orders/1", {"Authorization": f"ApiKey {key}"}).status == 200
    reply = get(gateway, "/orders/1", {"X-Api-Key": key})
    assert reply.status == 200
    assert "x-api-key" not in reply.echoed_headers()


def test_the_key_never_reaches_the_backend(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend)

    seen = get(gateway, "/orders/1", {"Authorization": f"Bearer {key}"}).echoed_headers()

    assert "authorization" not in seen


def test_it_answers_401_with_a_challenge_without_credentials(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    with_key(config, backend)

    reply = get(gateway, "/orders/1")

    assert_refused(reply, "missing_credentials")
    assert reply.header("www-authenticate") == 'ApiKey realm="gateway"'
    assert backend.count() == 0


def test_it_refuses_an_unknown_key(config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread) -> None:
    _, key = with_key(config, backend)
    unknown = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Bearer {unknown}"}))
    assert_refused(get(gateway, "/orders/1", {"Authorization": "Bearer gw_00000000_" + "a" * 32}))


def test_it_refuses_a_malformed_key_and_an_unknown_scheme(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend)

    assert_refused(get(gateway, "/orders/1", {"Authorization": f"ApiKey {key}x"}))
    assert_refused(get(gateway, "/orders/1", {"Authorization": "ApiKey not-a-key"}))
    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Basic {key}"}))


def test_it_refuses_a_key_with_extra_whitespace(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend, api_key_header="X-Api-Key")

    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Bearer  {key}"}))
    assert_refused(get(gateway, "/orders/1", {"Authorization": f"ApiKey {key[:10]} {key[10:]}"}))
    assert_refused(get(gateway, "/orders/1", {"X-Api-Key": f"{key}\t{key}"}))


def test_it_refuses_a_revoked_key_at_once(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    consumer, key = with_key(config, backend)
    assert get(gateway, "/orders/1", {"Authorization": f"Bearer {key}"}).status == 200

    revoke_api_key(ApiKey.objects.get(consumer=consumer))
    config.sync()

    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Bearer {key}"}))


def test_it_refuses_an_expired_key(config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread) -> None:
    keyed_route(config, backend)
    consumer = config.consumer("alice")
    _, expired = config.api_key(consumer, expires_at=timezone.now() - timedelta(seconds=1))
    _, soon = config.api_key(consumer, expires_at=timezone.now() + timedelta(seconds=1.5))
    config.sync()
    assert get(gateway, "/orders/1", {"Authorization": f"Bearer {soon}"}).status == 200

    time.sleep(1.6)

    reply = get(gateway, "/orders/1", {"Authorization": f"Bearer {soon}"})
    assert_refused(reply)
    assert "expired" in reply.problem()["detail"]
    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Bearer {expired}"}))


def test_it_refuses_a_disabled_consumers_key(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    consumer, key = with_key(config, backend)
    consumer.enabled = False
    consumer.save()
    config.sync()

    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Bearer {key}"}))


def test_it_refuses_a_key_in_the_query_string_unless_the_route_allows_it(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service, _ = keyed_route(config, backend)
    config.route(service, "/open", auth_mode="api_key", api_key_query_param="apikey")
    _, key = config.api_key(config.consumer("alice"))
    config.sync()

    refused = get(gateway, f"/orders/1?apikey={key}")
    assert_refused(refused, "credentials_in_query")
    assert "query string" in refused.problem()["detail"]
    assert_refused(get(gateway, f"/orders/1?x=1&other={key}"), "credentials_in_query")

    accepted = get(gateway, f"/open/1?x=a%20b&apikey={key}&y=%2F")
    assert accepted.status == 200, accepted
    assert accepted.json()["query"] == "x=a b&y=/"  # the backend shows it decoded


def test_it_answers_403_when_the_consumer_lacks_a_required_role(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    keyed_route(config, backend, required_roles="orders:write")
    _, reader = config.api_key(config.consumer("reader", roles="orders:read"))
    _, writer = config.api_key(config.consumer("writer", roles="orders:read,orders:write"))
    config.sync()

    refused = get(gateway, "/orders/1", {"Authorization": f"Bearer {reader}"})
    assert refused.status == 403
    assert "orders:write" in refused.problem("insufficient_role")["detail"]
    assert get(gateway, "/orders/1", {"Authorization": f"Bearer {writer}"}).status == 200
    assert backend.count() == 1


def test_it_sends_identity_headers_and_drops_the_clients_own(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    consumer, key = with_key(config, backend, roles="b,a")
    forged = {"Authorization": f"Bearer {key}", "X-Consumer-ID": "999", "X-Consumer-Name": "root"}

    seen = get(gateway, "/orders/1", forged).echoed_headers()

    assert seen["x-consumer-id"] == [str(consumer.pk)]
    assert seen["x-consumer-name"] == ["alice"]
    assert seen["x-consumer-roles"] == ["a,b"]
    assert "x-consumer-subject" not in seen


def test_it_drops_forged_identity_headers_on_routes_without_auth(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("open", targets=[backend]), "/open")
    config.sync()

    seen = get(gateway, "/open/1", {"X-Consumer-ID": "1", "X-Consumer-Roles": "admin"}).echoed_headers()

    assert not [name for name in seen if name.startswith("x-consumer")]


def test_it_refuses_underscore_variants_of_identity_headers(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend)

    reply = get(gateway, "/orders/1", {"Authorization": f"Bearer {key}", "X_Consumer_ID": "1"})

    assert reply.status == 400
    reply.problem("invalid_header")


def test_it_sends_only_the_identity_headers_the_route_names(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend, identity_headers="consumer-name")

    seen = get(gateway, "/orders/1", {"Authorization": f"Bearer {key}"}).echoed_headers()

    assert seen["x-consumer-name"] == ["alice"]
    assert "x-consumer-id" not in seen


def test_an_anonymous_caller_passes_where_allowed_but_a_bad_key_does_not(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    _, key = with_key(config, backend, allow_anonymous=True)

    anonymous = get(gateway, "/orders/1", {"X-Consumer-Name": "root"})
    assert anonymous.status == 200
    assert "x-consumer-name" not in anonymous.echoed_headers()
    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Bearer {key}x"}))


def test_a_rotated_key_keeps_working_until_its_deadline_beside_the_new_one(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    consumer, old_key = with_key(config, backend)
    old = ApiKey.objects.get(consumer=consumer)

    issued = rotate_api_key(old, timezone.now() + timedelta(seconds=1.5))
    config.sync()

    assert get(gateway, "/orders/1", {"Authorization": f"Bearer {old_key}"}).status == 200
    assert get(gateway, "/orders/1", {"Authorization": f"Bearer {issued.key}"}).status == 200
    time.sleep(1.6)
    assert_refused(get(gateway, "/orders/1", {"Authorization": f"Bearer {old_key}"}))
    assert get(gateway, "/orders/1", {"Authorization": f"Bearer {issued.key}"}).status == 200


def test_last_used_is_recorded_in_batches(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    consumer, key = with_key(config, backend)
    version = config.sync()
    for _ in range(3):
        assert get(gateway, "/orders/1", {"Authorization": f"Bearer {key}"}).status == 200

    deadline = time.monotonic() + 5
    while ApiKey.objects.get(consumer=consumer).last_used_at is None and time.monotonic() < deadline:
        time.sleep(0.1)

    assert ApiKey.objects.get(consumer=consumer).last_used_at is not None
    assert config.sync() == version  # recording a use is not a configuration change
