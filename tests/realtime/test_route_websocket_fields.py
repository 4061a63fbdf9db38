"""A route's WebSocket settings (a section of the route): validation, the YAML format, the admin API
and the compiled spec."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from rest_framework.test import APIClient

from realtime.compile import NAME, WebSocketSpec
from realtime.models import RouteWebSocket
from registry.models import Route, Service
from registry.sections import save_with_sections, values_of
from registry.snapshot import load_snapshot

pytestmark = pytest.mark.django_db

CONFIG = """\
version: 1
services:
  - name: Chat
    slug: chat
    targets:
      - host: 10.0.0.1
        port: 8080
    routes:
      - name: chat
        path_prefix: /chat
        auth_mode: either
        websocket: true
        websocket_origins: https://app.example.com
        websocket_token_in: both
        websocket_max_message_bytes: 4096
        websocket_idle_timeout: 30
"""


def route(**fields: object) -> Route:
    service, _ = Service.objects.get_or_create(name="Chat", slug="chat")
    values = {"service": service, "name": "chat", "path_prefix": "/chat", **fields}
    return save_with_sections(Route(), values)


def websocket_of(name: str) -> WebSocketSpec | None:
    snapshot = load_snapshot()
    route = next(r for r in snapshot.routes if r.name == name)
    found: WebSocketSpec | None = snapshot.extensions[NAME].websockets.get(route.id)
    return found


def test_the_fanout_and_publish_paths_are_reserved() -> None:
    for prefix in ("/ws", "/ws/x", "/realtime/publish"):
        with pytest.raises(ValidationError):
            route(path_prefix=prefix)


def test_origins_must_be_origins_and_token_places_need_an_auth_mode() -> None:
    with pytest.raises(ValidationError):
        route(websocket=True, websocket_origins="app.example.com")
    with pytest.raises(ValidationError):
        route(websocket=True, websocket_token_in="query")
    route(websocket=True, websocket_origins="https://a.example, http://b.example:8080,*")


def test_empty_limits_take_the_settings_defaults_in_the_compiled_spec() -> None:
    route(websocket=True, websocket_max_connections=5)
    Route.objects.create(service=Service.objects.get(), name="plain", path_prefix="/plain")

    ws = websocket_of("chat")
    assert ws is not None
    assert ws.max_connections == 5
    assert ws.max_message_bytes == settings.GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES
    assert ws.idle_timeout == settings.GATEWAY_WEBSOCKET_IDLE_TIMEOUT
    assert ws.origins == ()
    assert not ws.token_in_protocol and not ws.token_in_query
    assert websocket_of("plain") is None


def test_gateway_apply_and_export_carry_the_websocket_fields(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    call_command("gateway_apply", str(path), stdout=io.StringIO(), stderr=io.StringIO())

    stored = RouteWebSocket.objects.get(route__name="chat")
    assert (stored.websocket, stored.websocket_token_in, stored.websocket_max_message_bytes) == (True, "both", 4096)
    ws = websocket_of("chat")
    assert ws is not None and ws.token_in_protocol and ws.token_in_query and ws.idle_timeout == 30

    out = io.StringIO()
    call_command("gateway_export", stdout=out)
    exported = yaml.safe_load(out.getvalue())["services"][0]["routes"][0]
    assert exported["websocket_origins"] == "https://app.example.com"
    assert exported["websocket_max_connections"] is None


def test_the_admin_api_reads_and_writes_the_websocket_fields() -> None:
    Service.objects.create(name="Chat", slug="chat")
    user = User.objects.create_user("ops", password="s3cret-pass", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="registry"))
    api = APIClient()
    api.force_authenticate(user)

    created = api.post(
        "/admin/api/routes/",
        {"name": "chat", "service": "chat", "path_prefix": "/chat", "websocket": True, "websocket_idle_timeout": 9},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["websocket"] is True
    assert created.json()["websocket_idle_timeout"] == 9
    assert values_of(Route.objects.get(), ["websocket_idle_timeout"]) == {"websocket_idle_timeout": 9}
    refused = api.patch(f"/admin/api/routes/{created.json()['id']}/", {"websocket_token_in": "query"}, format="json")
    assert refused.status_code == 422 and "websocket_token_in" in refused.json()["errors"]  # a rule between fields
