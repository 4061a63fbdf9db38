"""The roles on the compliance app: a compliance officer searches, exports and sets retention, but
gets 403 on every configuration change (admin and admin API); a viewer searches but cannot export."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from compliance.models import RetentionRule
from registry.models import ApiKey, Consumer, Route, Service, Target

pytestmark = pytest.mark.django_db
CONFIG_MODELS = ("service", "target", "route", "consumer", "apikey", "jwtissuer")


def perms(group: str) -> set[str]:
    return set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))


@pytest.fixture
def config() -> dict[str, int]:
    service = Service.objects.create(name="Shop", slug="shop")
    target = Target.objects.create(service=service, host="127.0.0.1", port=9000)
    route = Route.objects.create(service=service, name="shop-orders", path_prefix="/orders")
    consumer = Consumer.objects.create(name="alice")
    key = ApiKey.objects.create(consumer=consumer, prefix="abcd1234", digest="0" * 64)
    return {"service": service.pk, "target": target.pk, "route": route.pk, "consumer": consumer.pk, "apikey": key.pk}


@pytest.mark.usefixtures("roles")
def test_the_groups_hold_the_compliance_permissions() -> None:
    officer = perms("compliance officer")
    assert {"view_auditevent", "export_auditevent", "verify_auditevent", "view_chaingap", "view_auditverification",
            "add_retentionrule", "change_legalhold", "add_redactionrule", "add_compliancejob"} <= officer  # fmt: skip
    assert not {p for p in officer if p.split("_")[0] in ("add", "change", "delete") and not p.endswith(
        ("retentionrule", "legalhold", "redactionrule", "compliancejob"))}  # fmt: skip
    assert "view_auditevent" in perms("viewer") and "export_auditevent" not in perms("viewer")
    assert {"export_auditevent", "delete_retentionrule", "change_service"} <= perms("gateway admin")


@pytest.mark.parametrize("model", CONFIG_MODELS)
def test_an_officer_reads_configuration_but_every_admin_change_is_403(
    officer_client: Client, config: dict[str, int], model: str
) -> None:
    assert officer_client.get(reverse(f"admin:registry_{model}_changelist")).status_code == 200
    assert officer_client.get(reverse(f"admin:registry_{model}_add")).status_code == 403
    assert officer_client.post(reverse(f"admin:registry_{model}_add"), {"name": "x"}).status_code == 403
    if model in config:
        pk = config[model]
        assert (
            officer_client.post(reverse(f"admin:registry_{model}_change", args=[pk]), {"name": "x"}).status_code == 403
        )
        assert (
            officer_client.post(reverse(f"admin:registry_{model}_delete", args=[pk]), {"post": "yes"}).status_code
            == 403
        )


API = {"service": "services", "target": "targets", "route": "routes", "consumer": "consumers", "apikey": "api-keys"}


@pytest.mark.parametrize("model", API)
def test_an_officer_gets_403_on_every_admin_api_write(
    officer_client: Client, config: dict[str, int], model: str
) -> None:
    base = f"/admin/api/{API[model]}/"
    item = f"{base}{config[model]}/"
    body = json.dumps({"name": "changed"})

    assert officer_client.get(base).status_code == 200
    assert officer_client.post(base, body, content_type="application/json").status_code == 403
    assert officer_client.put(item, body, content_type="application/json").status_code == 403
    assert officer_client.patch(item, body, content_type="application/json").status_code == 403
    assert officer_client.delete(item).status_code == 403
    assert Service.objects.get().name == "Shop" and Consumer.objects.filter(name="alice").exists()


def test_an_officer_sets_retention_and_legal_holds(officer_client: Client, config: dict[str, int]) -> None:
    response = officer_client.post(reverse("admin:compliance_retentionrule_add"), {"service": "", "days": "30"})
    assert response.status_code == 302
    assert RetentionRule.objects.get().days == 30
    hold = officer_client.post(
        reverse("admin:compliance_legalhold_add"), {"consumer": config["consumer"], "reason": "case 42", "active": "on"}
    )
    assert hold.status_code == 302
    assert (
        officer_client.post(reverse("admin:compliance_retentionrule_delete", args=[1]), {"post": "yes"}).status_code
        == 403
    )


def test_an_officer_can_search_export_and_open_the_gdpr_page(officer_client: Client) -> None:
    assert officer_client.get(reverse("admin:compliance_auditevent_changelist")).status_code == 200
    assert officer_client.get(reverse("admin:compliance_auditevent_export")).status_code == 200
    assert officer_client.get(reverse("admin:compliance_compliancejob_gdpr")).status_code == 200
    assert officer_client.get(reverse("admin:compliance_compliancejob_changelist")).status_code == 200


def test_a_viewer_may_not_export_nor_use_the_gdpr_page(viewer_client: Client) -> None:
    assert viewer_client.get(reverse("admin:compliance_auditevent_changelist")).status_code == 200
    assert viewer_client.post(reverse("admin:compliance_auditevent_export"), {"_format": "csv"}).status_code == 403
    assert viewer_client.get(reverse("admin:compliance_compliancejob_gdpr")).status_code == 403
    assert viewer_client.get(reverse("admin:compliance_retentionrule_add")).status_code == 403
