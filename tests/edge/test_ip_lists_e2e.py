"""IP allow and deny lists through real gateway processes: before authentication, deny over allow,
levels, trusted proxies (and a spoofed X-Forwarded-For from an untrusted peer), IPv6, consumers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError

from edge.models import ConsumerEdge, EdgeDefaults
from registry.models import Route, Service
from registry.sections import save_with_sections
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get, read_reply
from tests.support.servers import BackendThread, GatewayProcess


def test_an_allow_list_lets_its_networks_through_and_refuses_the_rest_before_auth(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("partner", [edge_backend])
    config.route(service, "/office", ip_allow="10.0.0.0/8\n127.0.0.1")
    config.route(service, "/elsewhere", ip_allow="192.0.2.0/24, 2001:db8::/32", auth_mode=Route.AuthMode.API_KEY)
    config.sync()
    before = edge_backend.count()

    allowed = get(gateway, "/office/x")
    refused = get(gateway, "/elsewhere/x")  # no credentials: the address is refused first

    assert allowed.status == 200
    assert refused.status == 403 and refused.problem("ip_denied")
    assert not refused.has("www-authenticate")
    assert edge_backend.count() == before + 1


def test_deny_wins_over_allow_and_deny_lists_of_every_level_add_up(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("partner", [edge_backend], ip_allow="127.0.0.0/8")
    config.route(service, "/denied", ip_deny="127.0.0.1/32")
    config.route(service, "/open")
    config.route(service, "/replaced", ip_allow="192.0.2.1")
    config.sync()

    assert get(gateway, "/denied/x").status == 403
    assert get(gateway, "/open/x").status == 200
    assert get(gateway, "/replaced/x").status == 403  # the route's allow list replaces the service's

    EdgeDefaults(ip_deny="127.0.0.0/30").save()  # every route
    config.sync()
    assert get(gateway, "/open/x").problem("ip_denied")


def test_behind_a_trusted_proxy_the_forwarded_client_is_checked(
    both: ConfigHelper, gateway: GatewayProcess, trusting_gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = both.service("partner", [edge_backend])
    both.route(service, "/office", ip_allow="203.0.113.0/24, 2001:db8::/32", ip_deny="2001:db8:bad::/48")
    both.sync()

    def status(via: GatewayProcess, forwarded: str) -> int:
        return get(via, "/office/x", {"X-Forwarded-For": forwarded}).status

    assert status(trusting_gateway, "203.0.113.9") == 200
    assert status(trusting_gateway, "198.51.100.1") == 403
    assert status(trusting_gateway, "2001:db8::5") == 200
    assert status(trusting_gateway, "2001:db8:bad::5") == 403
    # Entries left of the last untrusted hop were written by the client: they prove nothing.
    assert status(trusting_gateway, "203.0.113.9, 198.51.100.1") == 403
    # The session's gateway trusts no proxy: a client naming an office address is still 127.0.0.1.
    assert status(gateway, "203.0.113.9") == 403


@pytest.fixture
def ipv6_gateway(transactional_db: None) -> Iterator[GatewayProcess]:
    process = GatewayProcess(host="::1").start()
    yield process
    process.stop()


def ipv6_get(gateway: GatewayProcess, path: str) -> Reply:
    with socket.create_connection(("::1", gateway.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: [::1]:{gateway.port}\r\nConnection: close\r\n\r\n".encode())
        return read_reply(sock)


def test_clients_reaching_the_gateway_over_ipv6_are_matched_by_ipv6_networks(
    ipv6_gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    helper = ConfigHelper(gateways=[ipv6_gateway])
    service = helper.service("partner", [edge_backend])
    helper.route(service, "/v6", ip_allow="::1/128")
    helper.route(service, "/v4", ip_allow="127.0.0.0/8")
    helper.route(service, "/denied", ip_deny="::/0")
    helper.sync()

    assert ipv6_get(ipv6_gateway, "/v6/x").status == 200
    assert ipv6_get(ipv6_gateway, "/v4/x").status == 403
    assert ipv6_get(ipv6_gateway, "/denied/x").status == 403


def test_a_consumer_with_its_own_allow_list_is_refused_elsewhere_after_authentication(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("partner", [edge_backend])
    config.route(service, "/api", auth_mode=Route.AuthMode.API_KEY)
    partner, other = config.consumer("partner"), config.consumer("other")
    _, partner_key = config.api_key(partner)
    _, other_key = config.api_key(other)
    ConsumerEdge.objects.create(consumer=partner, ip_allow="10.20.0.0/16")
    config.sync()

    refused = get(gateway, "/api/x", {"Authorization": f"Bearer {partner_key}"})
    served = get(gateway, "/api/x", {"Authorization": f"Bearer {other_key}"})

    assert refused.status == 403 and refused.problem("ip_denied")
    assert served.status == 200

    ConsumerEdge.objects.filter(consumer=partner).update(ip_allow="127.0.0.1")
    ConsumerEdge.objects.get(consumer=partner).save()  # a signal-bearing save bumps the version
    config.sync()
    assert get(gateway, "/api/x", {"Authorization": f"Bearer {partner_key}"}).status == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("10.0.0.0/33", "not an IPv4 or IPv6"),
        ("10.0.0.300", "not an IPv4 or IPv6"),
        ("2001:db8::/129", "not an IPv4 or IPv6"),
        ("office-network", "not an IPv4 or IPv6"),
        (", ".join(f"10.{i // 256}.{i % 256}.0/24" for i in range(1001)), "At most 1000"),
    ],
)
def test_bad_networks_are_refused_with_the_field_and_the_reason(value: str, reason: str) -> None:
    service = Service.objects.create(name="Partner", slug="partner")
    for field in ("ip_allow", "ip_deny"):
        with pytest.raises(ValidationError) as raised:
            save_with_sections(Route(), {"service": service, "name": "r", "path_prefix": "/r", field: value})
        assert reason in " ".join(raised.value.message_dict[field])
