"""Control-plane audit: every create, update and delete of configuration becomes a chain event.

``gateway.<model>.<created|updated|deleted>`` with the actor, the source (admin, api, apply, shell,
celery), the object and ``{"before": ..., "after": ...}`` (secrets removed). What is configuration:
every model an app tracks with ``registry.services.track_changes`` (services, targets, routes,
consumers, keys, JWT issuers, and each feature's settings and rules), plus the compliance officer's
own rules (retention rules, legal holds). Who acts comes from ``registry.actors``.

The event is appended with ``chain.append`` inside the change's own transaction, not in
``transaction.on_commit``: a change and its record commit together or not at all, so a process that
dies right after the commit cannot leave an unrecorded change, and a chain that cannot be written
refuses the change. Every write path of the gateway (admin, admin API, gateway_apply) runs in a
transaction; a bare ``save()`` in autocommit mode (a shell) writes the record right after the change.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from compliance import chain, records
from compliance.models import LegalHold, RetentionRule
from registry.actors import current_actor
from registry.services import tracked_models

SECRET_FIELDS = frozenset({"digest", "secret", "password", "client_secret"})
SKIP_FIELDS = frozenset({"updated_at", "last_used_at"})  # bookkeeping, not configuration
# Audited although no table is built from them: the compliance officer's own settings.
OFFICER_MODELS: tuple[type[models.Model], ...] = (RetentionRule, LegalHold)


def audited(model: type[models.Model]) -> bool:
    return model in OFFICER_MODELS or model in tracked_models()


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
    if not audited(sender):
        return
    old = sender._default_manager.filter(pk=instance.pk).first() if instance.pk is not None else None
    instance._audit_before = snapshot(old) if old is not None else None  # type: ignore[attr-defined]


def _after_save(sender: type[models.Model], instance: models.Model, created: bool, **kwargs: Any) -> None:
    if not audited(sender):
        return
    before = getattr(instance, "_audit_before", None)
    after = snapshot(instance)
    if created or before is None:
        _record(instance, "created", {"before": None, "after": after})
        return
    changed = sorted(k for k in after if k not in SKIP_FIELDS and before.get(k) != after.get(k))
    if changed:
        _record(instance, "updated", {"before": before, "after": after, "changed": changed})


def _before_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if not audited(sender):
        return
    instance._audit_before = snapshot(instance)  # type: ignore[attr-defined]


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if not audited(sender):
        return
    _record(instance, "deleted", {"before": getattr(instance, "_audit_before", None), "after": None})


def _relation_changed(sender: type, instance: models.Model, action: str, pk_set: Any, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    fields = tracked_models().get(type(instance), ())
    for name in fields:
        if getattr(type(instance), name).through is sender:
            ids = sorted(pk_set or ())
            _record(instance, "updated", {name: {"action": action.removeprefix("post_"), "ids": ids}})


def connect() -> None:
    # Every model, filtered by ``audited`` when the signal comes: apps that track their models after
    # this one's ready() are audited too.
    pre_save.connect(_before_save, dispatch_uid="audit-pre-save")
    post_save.connect(_after_save, dispatch_uid="audit-post-save")
    pre_delete.connect(_before_delete, dispatch_uid="audit-pre-delete")
    post_delete.connect(_after_delete, dispatch_uid="audit-post-delete")
    m2m_changed.connect(_relation_changed, dispatch_uid="audit-relations")
