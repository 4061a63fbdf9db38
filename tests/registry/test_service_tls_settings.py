"""A service's TLS settings (CA bundle, client certificate and key files, server name): validated the
same way in the admin API, the admin form and ``gateway_apply``, and kept in config versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.test import APIClient

from registry.actors import acting_as
from registry.declarative import ConfigError, apply_config
from registry.models import ConfigRevision, Service
from registry.services import config_change
from tests.proxy.raw_backend import CertificateAuthority
from tests.support.problems import errors

pytestmark = pytest.mark.django_db

API = "/admin/api/services/"


@pytest.fixture
def api() -> APIClient:
    user = User.objects.create_user("ops", password="s3cret-pass", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="registry"))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def pem(tmp_path: Path) -> str:
    return CertificateAuthority(tmp_path, "Orders CA").pem


def service(**fields: Any) -> dict[str, Any]:
    return {"name": "Orders", "slug": "orders", "protocol": "https"} | fields


def test_it_stores_an_https_services_ca_bundle_client_certificate_and_server_name(api: APIClient, pem: str) -> None:
    tls = {
        "tls_ca_bundle": pem,
        "tls_client_cert": "/etc/gateway/orders.crt",
        "tls_client_key": "/etc/gateway/orders.key",
        "tls_server_name": "orders.internal",
    }

    created = api.post(API, service(**tls), format="json")

    assert created.status_code == 201, created.content
    assert {name: created.json()[name] for name in tls} == tls
    stored = Service.objects.get(slug="orders")
    assert (stored.tls_ca_bundle, stored.tls_server_name) == (pem, "orders.internal")


@pytest.mark.parametrize(
    ("fields", "status", "field", "words"),
    [
        ({"tls_ca_bundle": "not a certificate"}, 422, "tls_ca_bundle", "X.509"),
        (
            {"tls_ca_bundle": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
            422,
            "tls_ca_bundle",
            "X.509",
        ),
        ({"tls_ca_bundle": "\uafcc6\u00fe\u00ce)"}, 422, "tls_ca_bundle", "ASCII"),
        ({"tls_client_key": "/etc/gateway/orders.key"}, 422, "tls_client_key", "certificate"),
        ({"tls_client_cert": "orders.crt"}, 400, "tls_client_cert", "absolute path"),
        ({"tls_server_name": "https://orders"}, 400, "tls_server_name", "host name"),
        ({"protocol": "http", "tls_server_name": "orders.internal"}, 422, "tls_server_name", "https"),
    ],
)
def test_it_refuses_bad_tls_settings_naming_the_field(
    api: APIClient, fields: dict[str, Any], status: int, field: str, words: str
) -> None:
    reply = api.post(API, service(**fields), format="json")

    assert reply.status_code == status, reply.content
    assert words in " ".join(errors(reply)[field])
    assert not Service.objects.exists()


def test_a_private_key_pasted_as_the_ca_bundle_is_refused_and_never_stored(api: APIClient, pem: str) -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"

    reply = api.post(API, service(tls_ca_bundle=pem + key), format="json")

    assert reply.status_code == 422
    assert "private key" in " ".join(errors(reply)["tls_ca_bundle"])
    assert key not in reply.content.decode()


def test_the_schema_documents_the_tls_fields(api: APIClient) -> None:
    schema = api.get("/admin/api/schema/", HTTP_ACCEPT="application/json").json()
    fields = schema["components"]["schemas"]["Service"]["properties"]

    assert {"tls_ca_bundle", "tls_client_cert", "tls_client_key", "tls_server_name"} <= fields.keys()
    assert fields["tls_client_cert"]["maxLength"] == 1024
    assert "pattern" in fields["tls_server_name"]


def test_gateway_apply_refuses_tls_settings_on_an_http_service_and_a_key_without_its_certificate(pem: str) -> None:
    text = (
        "version: 1\n"
        "services:\n"
        "  - name: Plain\n"
        "    slug: plain\n"
        "    tls_server_name: plain.internal\n"
        "  - name: Half\n"
        "    slug: half\n"
        "    protocol: https\n"
        "    tls_client_key: /etc/gateway/half.key\n"
    )

    with pytest.raises(ConfigError) as raised:
        apply_config(text)

    messages = [(p.line, p.message) for p in raised.value.problems]
    assert messages[0][0] == 5 and "'tls_server_name'" in messages[0][1] and "https" in messages[0][1]
    assert messages[1][0] == 9 and "'tls_client_key'" in messages[1][1]
    assert not Service.objects.exists()


def test_a_config_version_keeps_the_tls_settings(pem: str, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True), acting_as("alice", "admin"), config_change():
        Service.objects.create(
            name="Orders", slug="orders", protocol="https", tls_ca_bundle=pem, tls_client_cert="/etc/gw/o.crt"
        )

    revision = ConfigRevision.objects.order_by("-version").first()

    assert revision is not None
    [orders] = revision.data["services"]
    assert (orders["tls_ca_bundle"], orders["tls_client_cert"], orders["tls_client_key"]) == (pem, "/etc/gw/o.crt", "")


def test_the_admin_form_shows_tls_folded_and_refuses_a_key_without_its_certificate(admin_client: Client) -> None:
    page = admin_client.get("/admin/registry/service/add/").content.decode()
    assert "TLS to the backend" in page
    fieldset = page[page.index("TLS to the backend") - 400 : page.index("TLS to the backend")]
    assert "collapse" in fieldset

    form = {
        "name": "Orders",
        "slug": "orders",
        "protocol": "https",
        "lb_algorithm": "round_robin",
        "connect_timeout": "5",
        "read_timeout": "60",
        "retries": "1",
        "tls_client_key": "/etc/gateway/orders.key",
        "enabled": "on",
        "targets-TOTAL_FORMS": "0",
        "targets-INITIAL_FORMS": "0",
        "routes-TOTAL_FORMS": "0",
        "routes-INITIAL_FORMS": "0",
    }
    reply = admin_client.post("/admin/registry/service/add/", form)

    assert reply.status_code == 200  # the form again, with the message
    assert "A client key needs its certificate" in reply.content.decode()
    assert not Service.objects.exists()
