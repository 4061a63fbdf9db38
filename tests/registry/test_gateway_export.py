"""``manage.py gateway_export``: the configuration as ``gateway_apply`` reads it, so a round trip is a no-op."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db.models import Model

from registry.models import ConfigVersion, Route, Service, Target
from registry.sections import sections_of
from tests.proxy.raw_backend import CertificateAuthority

pytestmark = pytest.mark.django_db


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("gateway_export", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def apply(tmp_path: Path, text: str) -> str:
    path = tmp_path / "exported.yaml"
    path.write_text(text)
    out = io.StringIO()
    call_command("gateway_apply", str(path), stdout=out, stderr=io.StringIO(), no_color=True)
    return out.getvalue()


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


@pytest.fixture
def ca_pem(tmp_path: Path) -> str:
    return CertificateAuthority(tmp_path, "Orders CA").pem + CertificateAuthority(tmp_path, "Old Orders CA").pem


@pytest.fixture
def made_in_the_admin(ca_pem: str) -> None:
    """Rows made the way the admin makes them, with every field away from its default somewhere."""
    orders = Service.objects.create(
        name="Orders API",
        slug="orders",
        description="Orders and carts.\nOwned by the shop team: yes",
        protocol="https",
        base_path="/v1",
        connect_timeout=2.5,
        read_timeout=30,
        retries=0,
        lb_algorithm="least_connections",
        preserve_host=True,
        tls_ca_bundle=ca_pem,
        tls_client_cert="/etc/gateway/orders.crt",
        tls_client_key="/etc/gateway/orders.key",
        tls_server_name="orders.internal",
    )
    Target.objects.create(service=orders, host="10.0.0.1", port=8443)
    Target.objects.create(service=orders, host="::1", port=8443, weight=0, enabled=False)
    Route.objects.create(service=orders, name="orders", path_prefix="/orders", methods="GET,POST")
    Route.objects.create(
        service=orders,
        name="orders-v2",
        path_prefix="/orders",
        host="*.example.com",
        strip_prefix=False,
        priority=10,
        api_version="v2",
        version_source="header",
        max_body_bytes=1024,
    )
    legacy = Service.objects.create(name="Legacy", slug="legacy", enabled=False)
    Route.objects.create(service=legacy, name="legacy", path_prefix="/legacy", enabled=False)


@pytest.mark.usefixtures("made_in_the_admin")
def test_export_then_apply_changes_nothing(tmp_path: Path) -> None:
    before = version()

    out = apply(tmp_path, export())

    assert "no changes" in out
    assert version() == before


NO_AUTH = {
    "auth_mode": "none",
    "required_roles": "",
    "allow_anonymous": False,
    "api_key_header": "",
    "api_key_query_param": "",
    "identity_headers": "consumer-id,consumer-name,roles,subject",
    "allow_gateway_users": False,
    "forward_authorization": False,
}


def sections(model: type[Model]) -> dict[str, Any]:
    """The keys feature apps attach to ``model`` (tested with each feature), at their defaults."""
    return {name: value for section in sections_of(model) for name, value in section.defaults().items()}


@pytest.mark.usefixtures("made_in_the_admin")
def test_every_field_is_exported_in_the_apply_format(ca_pem: str) -> None:
    data = yaml.safe_load(export())

    assert data["version"] == 1
    orders = data["services"][0]
    assert orders == {
        "name": "Orders API",
        "slug": "orders",
        "protocol": "https",
        "base_path": "/v1",
        "lb_algorithm": "least_connections",
        "preserve_host": True,
        "connect_timeout": 2.5,
        "read_timeout": 30.0,
        "retries": 0,
        "tls_ca_bundle": ca_pem,
        "tls_client_cert": "/etc/gateway/orders.crt",
        "tls_client_key": "/etc/gateway/orders.key",
        "tls_server_name": "orders.internal",
        "enabled": True,
        "description": "Orders and carts.\nOwned by the shop team: yes",
        **sections(Service),
        "targets": [
            {
                "host": "10.0.0.1",
                "port": 8443,
                "weight": 100,
                "enabled": True,
                **sections(Target),
            },
            {
                "host": "::1",
                "port": 8443,
                "weight": 0,
                "enabled": False,
                **sections(Target),
            },
        ],
        "routes": [
            {
                "name": "orders",
                "path_prefix": "/orders",
                "host": "",
                "methods": ["GET", "POST"],
                "strip_prefix": True,
                "priority": 0,
                "api_version": "",
                "version_source": "either",
                "max_body_bytes": None,
                "body_timeout": None,
                **NO_AUTH,
                **sections(Route),
                "enabled": True,
            },
            {
                "name": "orders-v2",
                "path_prefix": "/orders",
                "host": "*.example.com",
                "methods": [],
                "strip_prefix": False,
                "priority": 10,
                "api_version": "v2",
                "version_source": "header",
                "max_body_bytes": 1024,
                "body_timeout": None,
                **NO_AUTH,
                **sections(Route),
                "enabled": True,
            },
        ],
    }


@pytest.mark.usefixtures("made_in_the_admin")
def test_disabled_objects_are_exported_with_enabled_false() -> None:
    legacy = yaml.safe_load(export())["services"][1]

    assert (legacy["slug"], legacy["enabled"]) == ("legacy", False)
    assert legacy["routes"][0]["enabled"] is False


@pytest.mark.usefixtures("made_in_the_admin")
def test_it_writes_methods_on_one_line_and_long_text_as_a_block() -> None:
    text = export()

    assert "methods: [GET, POST]" in text
    assert "description: |-\n      Orders and carts.\n      Owned by the shop team: yes\n" in text


@pytest.mark.usefixtures("made_in_the_admin")
def test_it_writes_to_a_file_with_o(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"

    printed = export("-o", str(path))

    assert printed == ""
    assert path.read_text() == export()


def test_an_empty_database_exports_an_empty_list_that_applies_cleanly(tmp_path: Path) -> None:
    text = export()

    data = yaml.safe_load(text)
    assert data["version"] == 1 and data["services"] == []
    # Every feature section is written, empty (the edge defaults: their defaults).
    assert {key: value for key, value in data.items() if isinstance(value, list) and key != "services"} == {
        key: []
        for key in ("jwt_issuers", "rate_policies", "channels", "redaction_rules", "retention_rules", "consumer_edge")
    }
    assert "no changes" in apply(tmp_path, text)


@pytest.mark.usefixtures("made_in_the_admin")
def test_a_round_trip_through_a_fresh_database_rebuilds_the_same_configuration(tmp_path: Path) -> None:
    text = export()
    Service.objects.all().delete()

    apply(tmp_path, text)

    assert export() == text
