"""``gateway_apply`` / ``gateway_export`` with route auth settings and consumers (never their keys)."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.models import ApiKey, Consumer, Route
from registry.services import issue_api_key

pytestmark = pytest.mark.django_db

CONFIG = """\
version: 1
services:
  - name: Orders
    slug: orders
    routes:
      - name: orders
        path_prefix: /orders
        auth_mode: api_key
        required_roles: orders:read
        api_key_header: X-Api-Key
        identity_headers: consumer-id,consumer-name
consumers:
  - name: alice
    roles: orders:read, orders:write
  - name: bob
    enabled: false
"""


def apply(tmp_path: Path, text: str, *args: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    out = io.StringIO()
    call_command("gateway_apply", str(path), *args, stdout=out, stderr=io.StringIO(), no_color=True)
    return out.getvalue()


def export() -> str:
    out = io.StringIO()
    call_command("gateway_export", stdout=out)
    return out.getvalue()


def test_it_applies_route_auth_settings_and_consumers(tmp_path: Path) -> None:
    out = apply(tmp_path, CONFIG)

    assert "+ consumer alice" in out
    route = Route.objects.get(name="orders")
    assert (route.auth_mode, route.required_roles, route.api_key_header) == ("api_key", "orders:read", "X-Api-Key")
    assert Consumer.objects.get(name="alice").roles == "orders:read,orders:write"
    assert Consumer.objects.get(name="bob").enabled is False
    assert "no changes" in apply(tmp_path, CONFIG)


def test_the_export_carries_consumers_but_never_keys(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    issued = issue_api_key(Consumer.objects.get(name="alice"))

    text = export()

    data = yaml.safe_load(text)
    assert data["consumers"] == [
        {"name": "alice", "roles": "orders:read,orders:write", "enabled": True},
        {"name": "bob", "roles": "", "enabled": False},
    ]
    assert data["services"][0]["routes"][0]["auth_mode"] == "api_key"
    assert issued.key not in text and issued.api_key.digest not in text and issued.api_key.prefix not in text
    assert "no changes" in apply(tmp_path, text)


def test_consumers_missing_from_a_file_with_consumers_are_disabled_with_their_keys_kept(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    issue_api_key(Consumer.objects.get(name="alice"))

    out = apply(tmp_path, CONFIG.replace("  - name: alice\n    roles: orders:read, orders:write\n", ""))

    assert "- consumer alice (disabled)" in out
    assert Consumer.objects.get(name="alice").enabled is False
    assert ApiKey.objects.filter(consumer__name="alice").count() == 1


def test_a_file_without_consumers_leaves_them_alone(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)

    apply(tmp_path, CONFIG.split("consumers:")[0])

    assert Consumer.objects.get(name="alice").enabled is True


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("auth_mode: api_key", "auth_mode: none", "required_roles"),
        ("roles: orders:read, orders:write", "roles: not a role", "roles"),
        ("api_key_header: X-Api-Key", "api_key_header: X_Api_Key", "api_key_header"),
        ("  - name: bob", "  - name: alice", "consumer names are unique"),
    ],
)
def test_it_refuses_bad_auth_settings_with_their_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace(old, new))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("gateway_apply", str(path), stdout=io.StringIO(), stderr=err, no_color=True)

    assert message in err.getvalue()
    assert not Consumer.objects.exists()
