"""The pure parts of the edge policies: address matching, templates, Location mapping, query removal."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from edge import templates
from edge.ip_lists import Networks, address_of, parse_networks
from edge.location import internal_origins, rewrite_location
from edge.policies import admits
from edge.transform import drop_params
from proxy.auth.config import Identity


def networks(text: str) -> Networks:
    return Networks(parse_networks(text))


def test_addresses_match_by_prefix_in_both_families_and_mapped_ipv4_counts_as_ipv4() -> None:
    lists = networks("10.0.0.0/8, 192.0.2.7, 2001:db8::/32")
    for inside in ("10.255.0.1", "192.0.2.7", "2001:db8::1", "::ffff:10.1.2.3", "2001:db8::1%2"):
        parsed = address_of(inside)
        assert parsed is not None and parsed in lists, inside
    for outside in ("11.0.0.1", "192.0.2.8", "2001:db9::1", "::ffff:11.0.0.1", "::10.1.2.3"):
        parsed = address_of(outside)
        assert parsed is not None and parsed not in lists, outside


def test_a_fifty_entry_list_is_matched_by_a_few_set_lookups() -> None:
    lists = networks(", ".join(f"198.51.{i}.0/24" for i in range(49)) + ", 127.0.0.1")
    assert len(lists.v4) == 2  # one set per prefix length, not one entry per network
    assert admits(lists, None, "127.0.0.1") and not admits(lists, None, "127.0.0.2")


def test_deny_wins_and_an_address_that_does_not_parse_fails_an_allow_list() -> None:
    assert not admits(networks("10.0.0.0/8"), networks("10.0.0.1"), "10.0.0.1")
    assert not admits(networks("0.0.0.0/0"), None, "not-an-address")
    assert admits(None, networks("10.0.0.0/8"), "not-an-address")


def exchange(name: str = "", consumer_id: str = "") -> SimpleNamespace:
    identity = Identity(consumer_id=consumer_id, name=name, roles=frozenset()) if name or consumer_id else None
    return SimpleNamespace(identity=identity, request_id="rid", client_address="203.0.113.9", client_ip="127.0.0.1")


def compiled(value: str) -> templates.Template:
    route = SimpleNamespace(name="orders \u00e9", service=SimpleNamespace(name="Orders"))
    return templates.Template.for_route(templates.parse(value), route)  # type: ignore[arg-type]


def test_templates_fill_route_values_once_and_make_request_values_header_safe() -> None:
    assert compiled("{route}/{service}").static == b"orders %C3%A9/Orders"
    evil = exchange(name="x\r\nX-Admin: 1", consumer_id="7")
    assert compiled("{consumer_name}").value(evil) == b"x%0D%0AX-Admin: 1"  # type: ignore[arg-type]
    assert compiled("{consumer_id}:{client_address}:{request_id}").value(evil) == b"7:203.0.113.9:rid"  # type: ignore[arg-type]
    assert compiled("tenant-{consumer_name}").value(exchange()) == b""  # type: ignore[arg-type]
    assert compiled("{{literal}}").static == b"{literal}"


@pytest.mark.parametrize("bad", ["{nope}", "{consumer_id", "a}b", "{ route}"])
def test_malformed_templates_are_refused(bad: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        templates.parse(bad)


def test_location_maps_the_backends_origin_and_path_to_the_public_ones() -> None:
    origins = internal_origins(
        "http", [SimpleNamespace(host="10.0.0.5", port=80), SimpleNamespace(host="::1", port=8080)]
    )
    public = "https://api.example.com"
    assert rewrite_location("http://10.0.0.5/base/x?y=1", origins, public, "/base", "/shop") == (
        "https://api.example.com/shop/x?y=1"
    )
    assert (
        rewrite_location("HTTP://10.0.0.5:80/base", origins, public, "/base", "/shop") == "https://api.example.com/shop"
    )
    assert (
        rewrite_location("http://[::1]:8080/login", origins, public, "", "/app") == "https://api.example.com/app/login"
    )
    assert rewrite_location("http://10.0.0.5/elsewhere", origins, public, "/base", "/shop") == (
        "https://api.example.com/elsewhere"
    )
    assert rewrite_location("http://10.0.0.5:8080/x", origins, public, "", "") is None
    assert rewrite_location("http://10.0.0.50/x", origins, public, "", "") is None
    assert rewrite_location("/relative", origins, public, "", "/app") is None


def test_query_parameters_are_removed_by_their_decoded_name() -> None:
    names = frozenset({b"api_key", b"a b"})
    assert drop_params(b"x=1&api_key=s&%61pi_key=t&a+b=2&a%20b=3&keep=api_key", names) == b"x=1&keep=api_key"
