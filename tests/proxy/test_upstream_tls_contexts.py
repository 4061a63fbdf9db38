"""TLS contexts are built when the table is compiled: one per distinct (CA bundle, client certificate,
key), shared by the services that use the same settings, the global one for services that set
nothing, built again only when a file changed; pools are keyed by the TLS identity and server name."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from proxy.client.tls import tls_context
from proxy.specs import ServiceSpec, Snapshot, TargetSpec
from proxy.table import RoutingTable, compile_table
from proxy.upstream import Pools
from tests.proxy.raw_backend import CertificateAuthority


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path)


def https(slug: str, **tls: Any) -> ServiceSpec:
    return ServiceSpec(
        id=abs(hash(slug)) % 10_000,
        slug=slug,
        name=slug.title(),
        scheme="https",
        base_path="",
        connect_timeout=1.0,
        read_timeout=5.0,
        retries=0,
        lb_algorithm="round_robin",
        preserve_host=False,
        targets=(TargetSpec(id=1, host="127.0.0.1", port=8443, weight=100),),
        **tls,
    )


def compiled(*services: ServiceSpec) -> RoutingTable:
    return compile_table(Snapshot(version=1, services=services, routes=()), factories=[])


def test_services_with_the_same_settings_share_one_context_and_others_get_their_own(
    ca: CertificateAuthority,
) -> None:
    cert, key = ca.issue("gateway", server=False)
    mutual = {"tls_ca_bundle": ca.pem, "tls_client_cert": str(cert), "tls_client_key": str(key)}

    table = compiled(https("a", **mutual), https("b", **mutual), https("c", tls_ca_bundle=ca.pem), https("d"))
    a, b, c, d = (table.upstreams[slug] for slug in "abcd")

    assert a.tls is not None and a.tls is b.tls
    assert c.tls is not None and c.tls is not a.tls
    assert d.tls is not None and d.tls not in (a.tls, c.tls)  # the global settings: the system store
    assert a.pool_keys == b.pool_keys and a.pool_keys != c.pool_keys != d.pool_keys


def test_a_service_without_settings_uses_the_global_ones(ca: CertificateAuthority) -> None:
    with override_settings(GATEWAY_UPSTREAM_CA_BUNDLE=str(ca.ca_file)):
        table = compiled(https("plain"), https("same", tls_ca_bundle=""))

    plain, same = table.upstreams["plain"], table.upstreams["same"]
    assert plain.tls is same.tls and plain.tls is not None
    assert plain.tls.cert_store_stats()["x509_ca"] == 1  # only the global bundle, not the system store


def test_a_recompile_reuses_the_context_until_a_file_changes(ca: CertificateAuthority) -> None:
    cert, key = ca.issue("gateway", server=False)
    spec = https("a", tls_ca_bundle=ca.pem, tls_client_cert=str(cert), tls_client_key=str(key))

    first, second = compiled(spec).upstreams["a"].tls, compiled(spec).upstreams["a"].tls
    renewed, renewed_key = ca.issue("gateway", server=False)  # the same paths, new files
    assert (renewed, renewed_key) == (cert, key)
    os.utime(cert, (1, 1))
    third = compiled(spec).upstreams["a"].tls

    assert first is second
    assert third is not first


def test_the_server_name_is_part_of_the_pool_key_and_the_pool(ca: CertificateAuthority) -> None:
    named = compiled(https("n", tls_ca_bundle=ca.pem, tls_server_name="orders.internal")).upstreams["n"]
    plain = compiled(https("p", tls_ca_bundle=ca.pem)).upstreams["p"]

    assert named.pool_keys[0][3] == "orders.internal" and plain.pool_keys[0][3] == ""
    assert named.pool_keys[0] != plain.pool_keys[0]


def test_settings_that_cannot_be_loaded_leave_the_service_failing_and_the_table_warning(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    other_cert, _ = ca.issue("other", server=False)
    _, wrong_key = CertificateAuthority(tmp_path, "Elsewhere").issue("elsewhere", server=False)
    broken = https("broken", tls_client_cert=str(other_cert), tls_client_key=str(wrong_key))

    table = compiled(broken, https("fine", tls_ca_bundle=ca.pem))

    assert table.upstreams["broken"].tls is None
    assert "key values mismatch" in table.upstreams["broken"].tls_error
    assert table.upstreams["fine"].tls is not None
    assert any("'Broken'" in warning for warning in table.warnings)


def test_an_http_service_has_no_context() -> None:
    plain = replace(https("h"), scheme="http")

    upstream = compiled(plain).upstreams["h"]

    assert upstream.tls is None and upstream.tls_error == "" and upstream.pool_keys[0][4] == ""


async def test_a_pool_takes_the_rebuilt_context_of_the_same_settings_and_keeps_its_connections(
    ca: CertificateAuthority,
) -> None:
    pools = Pools()
    key = ("https", "127.0.0.1", 8443, "", "abc")
    old, new = tls_context(ca_pem=ca.pem), tls_context(ca_pem=ca.pem)

    first = pools.get(key, old)
    second = pools.get(key, new)

    assert second is first and first.tls is new
    assert pools.get(("https", "127.0.0.1", 8443, "", "other"), new) is not first
