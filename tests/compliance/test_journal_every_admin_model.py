"""Every model a person can change is journaled: this test enumerates the Django admin's models (and
every model an app tracks with ``track_changes``) and proves that a create, an update, a
relation change and a delete of each leave exactly one event. A model registered later fails
``test_every_admin_and_tracked_model_is_enumerated_here`` until it gets a recipe below, whose test
then shows whether the journal covers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group, Permission, User
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule

from compliance.models import AuditEvent, AuditVerification
from mfa.models import BackupCodes, TotpDevice
from mfa.sealing import seal
from registry.admin import ReadOnlyAdmin
from registry.models import Consumer, JwtIssuer, Route, Service, Target
from registry.services import issue_api_key, tracked_models

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Recipe:
    create: Callable[[], models.Model]
    change: Callable[[models.Model], None]
    relate: Callable[[models.Model], None] | None = None  # a many-to-many change, where the model has one


def _set(**values: Any) -> Callable[[models.Model], None]:
    def change(obj: models.Model) -> None:
        for name, value in values.items():
            setattr(obj, name, value)
        obj.save()

    return change


def _service() -> Service:
    return Service.objects.create(name="Svc", slug=f"svc-{Service.objects.count()}")


def _route() -> Route:
    service = _service()
    return Route.objects.create(service=service, name=f"{service.slug}-r", path_prefix=f"/{service.slug}")


def _target() -> Target:
    return Target.objects.create(service=_service(), host="127.0.0.1", port=9000)


def _interval() -> IntervalSchedule:
    return IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)


def M(label: str) -> Any:
    """A model's default manager (a short name keeps the recipes on one line each)."""
    return apps.get_model(label)._default_manager


def _edge_section(owner: str, section: str, field: str, value: object) -> Recipe:
    def create() -> models.Model:
        owned: dict[str, Any] = {"route": _route()} if owner == "route" else {"service": _service()}
        return M(f"edge.{owner}{section}").create(**owned)

    return Recipe(create, _set(**{field: value}))


# Models a person changes: create, change (and relate) each leave one event.
RECIPES: dict[str, Recipe] = {
    "auth.group": Recipe(
        lambda: Group.objects.create(name="auditors"),
        _set(name="auditors-2"),
        lambda g: g.permissions.add(Permission.objects.get(codename="view_route")),  # type: ignore[attr-defined]
    ),
    "auth.user": Recipe(
        lambda: User.objects.create_user("nina", password="pw-nina-123456"),
        _set(email="nina@example.test"),
        lambda u: u.groups.add(Group.objects.create(name="g-nina")),  # type: ignore[attr-defined]
    ),
    "django_celery_beat.periodictask": Recipe(
        lambda: M("django_celery_beat.periodictask").create(
            name="nightly", task="compliance.tasks.verify_audit_chain", interval=_interval()
        ),
        _set(enabled=False),
    ),
    "django_celery_beat.intervalschedule": Recipe(_interval, _set(every=20)),
    "django_celery_beat.crontabschedule": Recipe(
        lambda: M("django_celery_beat.crontabschedule").create(minute="5"), _set(minute="6")
    ),
    "django_celery_beat.solarschedule": Recipe(
        lambda: M("django_celery_beat.solarschedule").create(event="sunrise", latitude=1, longitude=1),
        _set(latitude=2),
    ),
    "django_celery_beat.clockedschedule": Recipe(
        lambda: M("django_celery_beat.clockedschedule").create(clocked_time=timezone.now()),
        _set(clocked_time=timezone.now() + timedelta(days=1)),
    ),
    "registry.service": Recipe(_service, _set(name="Renamed")),
    "registry.target": Recipe(_target, _set(port=9001)),
    "registry.route": Recipe(
        _route,
        _set(path_prefix="/moved"),
        lambda r: r.jwt_issuers.add(JwtIssuer.objects.create(name="idp-r", issuer="https://idp.r")),  # type: ignore[attr-defined]
    ),
    "registry.consumer": Recipe(lambda: Consumer.objects.create(name="carol"), _set(roles="orders:read")),
    "registry.apikey": Recipe(
        lambda: issue_api_key(Consumer.objects.create(name="dave")).api_key, _set(revoked_at=timezone.now())
    ),
    "registry.jwtissuer": Recipe(
        lambda: JwtIssuer.objects.create(name="idp", issuer="https://idp.example"), _set(audience="gw")
    ),
    "realtime.channel": Recipe(lambda: M("realtime.channel").create(pattern="news.*"), _set(roles="x")),
    "ratelimit.ratepolicy": Recipe(
        lambda: M("ratelimit.ratepolicy").create(name="p1", limit=5, period=60),
        _set(limit=6),
        lambda p: p.routes.add(_route()),  # type: ignore[attr-defined]
    ),
    "compliance.redactionrule": Recipe(
        lambda: M("compliance.redactionrule").create(kind="header", name="X-Ssn"),
        _set(enabled=False),
    ),
    "compliance.retentionrule": Recipe(lambda: M("compliance.retentionrule").create(days=30), _set(days=31)),
    "compliance.legalhold": Recipe(
        lambda: M("compliance.legalhold").create(service=_service(), reason="case 1"),
        _set(active=False),
    ),
    # Sections of services, targets and routes (tracked, edited on their owner's page).
    "breaker.servicebreaker": Recipe(
        lambda: M("breaker.servicebreaker").create(service=_service()), _set(breaker_enabled=True)
    ),
    "breaker.targetbreaker": Recipe(
        lambda: M("breaker.targetbreaker").create(target=_target()), _set(breaker_failures=9)
    ),
    "compliance.routeaudit": Recipe(lambda: M("compliance.routeaudit").create(route=_route()), _set(phi=True)),
    # Second factors (mfa app): enrolled, renamed, removed.
    "mfa.totpdevice": Recipe(
        lambda: TotpDevice.objects.create(
            user=User.objects.create_user("tina"), name="phone", encrypted_key=seal(b"k" * 20)
        ),
        _set(name="new phone"),
    ),
    "mfa.backupcodes": Recipe(
        lambda: BackupCodes.objects.create(user=User.objects.create_user("bert"), name="codes", digests=["x"]),
        _set(digests=["y"]),  # new codes: the change is named, never recorded
    ),
    "realtime.routewebsocket": Recipe(
        lambda: M("realtime.routewebsocket").create(route=_route()), _set(websocket=True)
    ),
    "registry.servicedynamicroute": Recipe(
        lambda: M("registry.servicedynamicroute").create(service=_service()), _set(dynamic_route=True)
    ),
    "cache.routecache": Recipe(lambda: M("cache.routecache").create(route=_route()), _set(cache_enabled=True)),
    "portal.routeportal": Recipe(lambda: M("portal.routeportal").create(route=_route()), _set(validate_requests=True)),
    "portal.serviceportal": Recipe(
        lambda: M("portal.serviceportal").create(service=_service()), _set(openapi_url="/openapi.json")
    ),
    # Edge policies: the defaults (one row), a consumer's settings, and each section of routes and services.
    "edge.edgedefaults": Recipe(lambda: M("edge.edgedefaults").create(), _set(hsts_max_age=600)),
    "edge.consumeredge": Recipe(
        lambda: M("edge.consumeredge").create(consumer=Consumer.objects.create(name="erin")),
        _set(ip_allow="203.0.113.0/24"),
    ),
    **{
        f"edge.{owner}{section}": _edge_section(owner, section, field, value)
        for owner in ("route", "service")
        for section, (field, value) in {
            "cors": ("cors_max_age", 60),
            "securityheaders": ("hsts_max_age", 600),
            "iplists": ("ip_deny", "198.51.100.0/24"),
            "transform": ("query_remove", "debug"),
        }.items()
    },
    "revocation.jwtrevocation": Recipe(
        lambda: M("revocation.jwtrevocation").create(kind="jti", value="jti-1"), _set(reason="leaked")
    ),
}

# Records the gateway writes itself: a person can only delete them, through the admin.
DELETED_BY_PEOPLE: dict[str, Callable[[], models.Model]] = {
    "breaker.breakerevent": lambda: M("breaker.breakerevent").create(
        at=timezone.now(), address="127.0.0.1:1", from_state="closed", to_state="open", reason="failures"
    ),
    "breaker.healthcheckresult": lambda: M("breaker.healthcheckresult").create(
        target=_target(), checked_at=timezone.now(), ok=False
    ),
    "breaker.targethealth": lambda: M("breaker.targethealth").create(target=_target()),
    "compliance.auditverification": lambda: AuditVerification.objects.create(source="command", ok=True),
    "portal.servicedocument": lambda: M("portal.servicedocument").create(service=_service(), digest="d"),
    # Ending an admin's sign-in is deleting it (revocation app).
    "revocation.adminsession": lambda: M("revocation.adminsession").create(
        user=User.objects.create_user("sam"), kind="session", key="k" * 32, started_at=timezone.now()
    ),
}

# Nobody changes these in the admin (not even a superuser): nothing to journal.
UNCHANGEABLE = {
    "registry.configversion",
    "compliance.auditevent",
    "compliance.chaingap",
    "compliance.compliancejob",
}
# Requests a person makes and nobody changes afterwards: a cache purge (its creation is journaled,
# tests/cache/test_purge_e2e.py).
REQUESTED_ONLY = {"cache.cachepurge"}


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def events_of(label: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=label).order_by("seq"))


def one_new_event(label: str, step: Callable[[], Any]) -> tuple[Any, AuditEvent]:
    before = {e.pk for e in events_of(label)}
    result = step()
    new = [e for e in events_of(label) if e.pk not in before]
    assert len(new) == 1, (label, [e.action for e in new])
    return result, new[0]


def test_every_admin_and_tracked_model_is_enumerated_here() -> None:
    enumerated = set(RECIPES) | set(DELETED_BY_PEOPLE) | UNCHANGEABLE | REQUESTED_ONLY
    present = {_label(m) for m in admin.site._registry} | {_label(m) for m in tracked_models()}
    assert present - enumerated == set(), "a new model: add a recipe for it to this test"
    assert enumerated - present == set()


# Second factors are named for what happened to the account; every other model by its verb.
MFA_ACTIONS = {"created": "access.mfa.enrolled", "updated": "access.mfa.updated", "deleted": "access.mfa.removed"}


def _expected(label: str, verb: str) -> str:
    app, model = label.split(".")
    if app == "mfa":
        return MFA_ACTIONS[verb]
    return f"{'access' if app in ('auth', 'mfa') else 'gateway'}.{model}.{verb}"


@pytest.mark.parametrize("label", sorted(RECIPES))
def test_a_create_an_update_a_relation_and_a_delete_each_leave_one_event(label: str) -> None:
    recipe = RECIPES[label]
    obj, created = one_new_event(label, recipe.create)
    assert created.action == _expected(label, "created")
    assert created.data["before"] is None and created.data["after"]
    _, updated = one_new_event(label, lambda: recipe.change(obj))
    assert updated.action == _expected(label, "updated") and updated.data["changed"]
    if recipe.relate is not None:
        relate = recipe.relate
        _, related = one_new_event(label, lambda: relate(obj))
        assert related.action == _expected(label, "updated") and "add" in str(related.data)
    _, deleted = one_new_event(label, obj.delete)
    assert deleted.action == _expected(label, "deleted") and deleted.data["before"] is not None
    kind = "access" if label.split(".")[0] in ("auth", "mfa") else "config"
    assert {e.kind for e in events_of(label)} == {kind}


def test_secrets_are_never_recorded_and_a_new_password_is_its_own_event() -> None:
    user = User.objects.create_user("pat", password="first-pw-123456")
    device = TotpDevice.objects.create(user=user, name="phone", encrypted_key=seal(b"s" * 20))

    def new_password() -> None:
        user.set_password("second-pw-123456")
        user.save()

    _, changed = one_new_event("auth.user", new_password)
    assert changed.action == "access.password.changed" and changed.data["changed"] == ["password"]
    # Django upgrading an old hash at sign-in (same password) is not a change.
    weak = PBKDF2PasswordHasher().encode("second-pw-123456", "somesalt", iterations=1000)
    User.objects.filter(pk=user.pk).update(password=weak)  # an old install's hash: no signal
    user.refresh_from_db()
    before = len(events_of("auth.user"))
    assert user.check_password("second-pw-123456")
    user.refresh_from_db()
    assert user.password != weak  # upgraded and saved
    assert len(events_of("auth.user")) == before
    recorded = str(list(AuditEvent.objects.values_list("data", flat=True)))
    assert "pbkdf2" not in recorded and device.encrypted_key not in recorded and "encrypted_key" not in recorded


@pytest.mark.parametrize("label", sorted(DELETED_BY_PEOPLE))
def test_records_the_gateway_writes_are_journaled_when_a_person_deletes_them(label: str, admin_client: Client) -> None:
    obj = DELETED_BY_PEOPLE[label]()
    assert events_of(label) == []  # written by the gateway: not a change
    app, model = label.split(".")
    url = reverse(f"admin:{app}_{model}_delete", args=[obj.pk])
    _, deleted = one_new_event(label, lambda: admin_client.post(url, {"post": "yes"}))
    assert deleted.action == f"gateway.{model}.deleted" and deleted.actor == "admin" and deleted.source == "admin"
    assert not type(obj)._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("label", sorted(UNCHANGEABLE))
def test_the_other_read_only_records_cannot_be_changed_in_the_admin(label: str, admin_user: User) -> None:
    model_admin = admin.site.get_model_admin(apps.get_model(label))
    assert isinstance(model_admin, ReadOnlyAdmin)
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.parametrize("label", sorted(REQUESTED_ONLY))
def test_a_request_is_never_changed_or_deleted_in_the_admin(label: str, admin_user: User) -> None:
    model_admin = admin.site.get_model_admin(apps.get_model(label))
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    assert model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
