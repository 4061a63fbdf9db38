"""Control-plane audit: every create, update and delete of configuration becomes a chain event.

``gateway.<model>.<created|updated|deleted>`` with the actor, the source (admin, api, apply, shell,
celery), the object and ``{"before": ..., "after": ...}`` (secrets removed). The actor and source
come from a context variable set by ``AuditContextMiddleware`` (Django requests), ``gateway_apply``
(``acting_as``) or Celery; otherwise the change was made from a shell by the OS user.

The event is appended with ``chain.append`` inside the change's own transaction, not in
``transaction.on_commit``: a change and its record commit together or not at all, so a process that
dies right after the commit cannot leave an unrecorded change, and a chain that cannot be written
refuses the change. Every write path of the gateway (admin, admin API, gateway_apply) runs in a
transaction; a bare ``save()`` in autocommit mode (a shell) writes the record right after the change.
"""

from __future__ import annotations

import contextvars
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from compliance import chain, records
from compliance.models import LegalHold, RedactionRule, RetentionRule
from registry.models import ApiKey, Consumer, JwtIssuer, Route, Service, Target

SECRET_FIELDS = frozenset({"digest", "secret", "password", "client_secret"})
SKIP_FIELDS = frozenset({"updated_at", "last_used_at"})  # bookkeeping, not configuration
AUDITED: tuple[type[models.Model], ...] = (
    Service,
    Target,
    Route,
    Consumer,
    ApiKey,
    JwtIssuer,
    RedactionRule,
    RetentionRule,
    LegalHold,
)


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    source: str


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)
_request: contextvars.ContextVar[Any] = contextvars.ContextVar("audit_request", default=None)


@contextmanager
def acting_as(name: str, source: str) -> Iterator[None]:
    token = _actor.set(Actor(name, source))
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(name: str, source: str) -> None:
    """For the rest of this context (a Celery worker process)."""
    _actor.set(Actor(name, source))


@contextmanager
def during_request(request: Any) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is not None:
        return actor
    request = _request.get()
    if request is not None:
        user = getattr(request, "user", None)  # DRF sets the token's user on the Django request too
        name = user.get_username() if user is not None and user.is_authenticated else ""
        source = "api" if request.path.startswith(("/admin/api/", "/api/")) else "admin"
        return Actor(name, source)
    try:
        name = getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        name = ""
    return Actor(name, "shell")


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The object's fields as JSON-safe data, secrets removed (a model_to_dict that keeps every field)."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        data[field.attname] = field.value_from_object(instance)
    return dict(json.loads(json.dumps(data, cls=DjangoJSONEncoder)))


def _record(instance: models.Model, verb: str, data: dict[str, Any]) -> None:
    actor = current_actor()
    model = instance._meta.model_name
    chain.append(
        [
            {
                "event_id": records.new_event_id(),
                "kind": "config",
                "at": timezone.now(),
                "action": f"gateway.{model}.{verb}",
                "actor": actor.name,
                "source": actor.source,
                "object_type": f"{instance._meta.app_label}.{model}",
                "object_id": str(instance.pk),
                "data": data,
            }
        ]
    )


def _before_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    old = sender._default_manager.filter(pk=instance.pk).first() if instance.pk is not None else None
    instance._audit_before = snapshot(old) if old is not None else None  # type: ignore[attr-defined]


def _after_save(sender: type[models.Model], instance: models.Model, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_audit_before", None)
    after = snapshot(instance)
    if created or before is None:
        _record(instance, "created", {"before": None, "after": after})
        return
    changed = sorted(k for k in after if k not in SKIP_FIELDS and before.get(k) != after.get(k))
    if changed:
        _record(instance, "updated", {"before": before, "after": after, "changed": changed})


def _before_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    instance._audit_before = snapshot(instance)  # type: ignore[attr-defined]


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    _record(instance, "deleted", {"before": getattr(instance, "_audit_before", None), "after": None})


def _issuers_changed(sender: type, instance: models.Model, action: str, pk_set: Any, **kwargs: Any) -> None:
    if not action.startswith("post_") or not isinstance(instance, Route):
        return
    ids = sorted(pk_set or ())
    _record(instance, "updated", {"jwt_issuers": {"action": action.removeprefix("post_"), "ids": ids}})


def connect() -> None:
    for model in AUDITED:
        uid = f"audit-{model.__name__}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}-pre-save")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}-post-save")
        pre_delete.connect(_before_delete, sender=model, dispatch_uid=f"{uid}-pre-delete")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}-post-delete")
    m2m_changed.connect(_issuers_changed, sender=Route.jwt_issuers.through, dispatch_uid="audit-route-issuers")
