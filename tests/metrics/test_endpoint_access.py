"""Who may read the metrics endpoints: /metrics by token (or loopback without one), the rest staff or token."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.utils import override_settings

RESTRICTED = ("/metrics/json", "/metrics/performance", "/metrics/health-score", "/metrics/overview")


@pytest.fixture
def staff_client(db: None) -> Client:
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@override_settings(GATEWAY_METRICS_TOKEN="")
def test_without_a_token_metrics_answers_loopback_peers_only() -> None:
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    refused = Client(REMOTE_ADDR="10.1.2.3").get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@override_settings(GATEWAY_METRICS_TOKEN="s3cret-token")
def test_with_a_token_metrics_needs_it_even_from_loopback() -> None:
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    assert b"gateway_requests_in_flight" in answer.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", RESTRICTED)
@override_settings(GATEWAY_METRICS_TOKEN="s3cret-token")
def test_the_dashboards_endpoints_need_staff_or_the_token(path: str) -> None:
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert client.get(path).status_code == 401
    assert client.get(path, HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@pytest.mark.parametrize("path", RESTRICTED)
@override_settings(GATEWAY_METRICS_TOKEN="")
def test_without_a_token_only_staff_read_the_dashboards_endpoints(path: str, staff_client: Client) -> None:
    assert Client(REMOTE_ADDR="127.0.0.1").get(path).status_code == 401
    assert staff_client.get(path).status_code == 200


@pytest.mark.django_db
def test_a_logged_in_non_staff_user_is_forbidden() -> None:
    user = get_user_model().objects.create_user("someone", password="x")
    client = Client(REMOTE_ADDR="10.0.0.9")
    client.force_login(user)
    assert client.get("/metrics/performance").status_code == 403


def test_the_overview_page_is_linked_from_the_admin_index_and_renders(staff_client: Client) -> None:
    index = staff_client.get("/admin/")
    assert b'href="/admin/overview/"' in index.content
    page = staff_client.get("/admin/overview/")
    assert page.status_code == 200
    assert b"/admin/overview/live" in page.content  # refreshed from the dashboard's fragment
    assert Client().get("/admin/overview/").status_code == 302  # to the login page
