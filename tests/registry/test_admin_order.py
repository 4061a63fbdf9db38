"""Order and clutter: configuration first on the index, Celery's schedules for superusers only, and
config versions that tell when they changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from registry.models import ConfigVersion
from registry.services import bump_config_version

pytestmark = pytest.mark.django_db


def test_the_index_lists_the_gateway_configuration_first_and_celery_last(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    positions = [page.index(f'class="app-{label} module') for label in ("registry", "breaker", "compliance", "auth")]
    assert positions == sorted(positions)
    assert page.index('class="app-django_celery_beat module') > positions[-1]


def test_celerys_clocked_crontab_and_solar_schedules_are_for_superusers_only(admin_client: Client) -> None:
    staff = User.objects.create_user("ops", password="x", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="django_celery_beat"))
    client = Client()
    client.force_login(staff)
    index = client.get("/admin/").content.decode()
    assert "/admin/django_celery_beat/periodictask/" in index
    for model in ("clockedschedule", "crontabschedule", "solarschedule"):
        assert f"/admin/django_celery_beat/{model}/" not in index
        assert client.get(f"/admin/django_celery_beat/{model}/").status_code == 403
        assert admin_client.get(f"/admin/django_celery_beat/{model}/").status_code == 200
    assert "/admin/django_celery_beat/intervalschedule/" in index


def test_a_version_bump_moves_changed_at() -> None:
    bump_config_version()
    ConfigVersion.objects.filter(pk=1).update(changed_at=timezone.now() - timedelta(days=1))
    bump_config_version()
    assert timezone.now() - ConfigVersion.objects.get(pk=1).changed_at < timedelta(seconds=5)
