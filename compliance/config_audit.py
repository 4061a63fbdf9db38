"""The configuration journal: every create, update and delete of a journaled model becomes a chain event.

``<prefix>.<model>.<created|updated|deleted>`` with the actor, the source (admin, api, apply, shell,
celery), the object and ``{"before": ..., "after": ..., "changed": [...]}`` (secrets never recorded,
only named in ``changed``). Which models, and under which kind and prefix: ``compliance.journal``
(configuration, the officer's rules, every model of the Django admin, users, groups, permissions
and MFA devices). Who acts comes from ``registry.actors``.

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
from compliance.journal import SECRET_FIELDS, SKIP_FIELDS, Journal, action, journal_of, records_deletion, related_names
from compliance.models import AuditEvent
from registry.actors import current_actor


class _Encoder(DjangoJSONEncoder):
    """Django's encoder, and the text of anything else (a schedule's time zone)."""

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The object's fields as JSON-safe data, secrets removed (a model_to_dict that keeps every field)."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        data[field.attname] = field.value_from_object(instance)
    return dict(json.loads(json.dumps(data, cls=_Encoder)))


def _secrets(instance: models.Model) -> dict[str, Any]:
    """The secret fields' values, kept in memory only to tell whether one changed."""
    return {f.name: f.value_from_object(instance) for f in instance._meta.concrete_fields if f.name in SECRET_FIELDS}


def _record(instance: models.Model, journal: Journal, verb: str, data: dict[str, Any]) -> None:
    actor = current_actor()
    model = type(instance)
    chain.append(
        [
            {
                "event_id": records.new_event_id(),
                "kind": journal.kind,
                "at": timezone.now(),
                "action": action(model, journal, verb, data),
                "actor": actor.name,
                "source": actor.source,
                "object_type": f"{instance._meta.app_label}.{instance._meta.model_name}",
                "object_id": str(instance.pk),
                "data": data,
            }
        ]
    )


def _before_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    journal = journal_of(sender)
    if journal is None or journal.deletes_only:
        return
    old = sender._default_manager.filter(pk=instance.pk).first() if instance.pk is not None else None
    instance._audit_before = snapshot(old) if old is not None else None  # type: ignore[attr-defined]
    instance._audit_secrets = _secrets(old) if old is not None else None  # type: ignore[attr-defined]


def _rehash(instance: models.Model, update_fields: Any) -> bool:
    """Django upgrading a password's hash at sign-in (same password): ``check_password`` saves only
    the password and, unlike ``set_password``, leaves no raw password on the user."""
    return (
        update_fields is not None and set(update_fields) == {"password"} and getattr(instance, "_password", 1) is None
    )


def _after_save(sender: type[models.Model], instance: models.Model, created: bool, **kwargs: Any) -> None:
    journal = journal_of(sender)
    if journal is None or journal.deletes_only:
        return
    before = getattr(instance, "_audit_before", None)
    after = snapshot(instance)
    if created or before is None:
        _record(instance, journal, "created", {"before": None, "after": after})
        return
    changed = [k for k in after if k not in SKIP_FIELDS and before.get(k) != after.get(k)]
    old_secrets = getattr(instance, "_audit_secrets", None) or {}
    for name, value in _secrets(instance).items():
        if name in old_secrets and old_secrets[name] != value and not _rehash(instance, kwargs.get("update_fields")):
            changed.append(name)
    if changed:
        _record(instance, journal, "updated", {"before": before, "after": after, "changed": sorted(changed)})


def _before_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if journal_of(sender) is not None:
        instance._audit_before = snapshot(instance)  # type: ignore[attr-defined]


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    journal = journal_of(sender)
    if journal is None or not records_deletion(journal):
        return
    _record(instance, journal, "deleted", {"before": getattr(instance, "_audit_before", None), "after": None})


def _relation_name(model: type[models.Model], through: type) -> str | None:
    """The name, on ``model``'s side, of the many-to-many relation stored in ``through``."""
    for field in model._meta.many_to_many:
        if field.remote_field.through is through:
            return field.name
    for rel in model._meta.related_objects:
        if rel.many_to_many and getattr(rel, "through", None) is through:
            return rel.get_accessor_name()
    return None


def _relation_changed(
    sender: type, instance: models.Model, action: str, pk_set: Any, model: type[models.Model], **kwargs: Any
) -> None:
    if not action.startswith("post_"):
        return
    journal = journal_of(type(instance))
    name = _relation_name(type(instance), sender) if journal is not None and not journal.deletes_only else None
    if journal is None or name is None:
        return
    ids = sorted(pk_set or ())
    change: dict[str, Any] = {"action": action.removeprefix("post_"), "ids": ids}
    names = related_names(model, ids)
    if names is not None:
        change["names"] = names
    _record(instance, journal, "updated", {name: change})


def _rolled_back(sender: type, revision: Any, changes: list[Any], reason: str, actor: str, **kwargs: Any) -> None:
    """``gateway.config.rolled_back``: one event for the rollback as a whole (each row it changes has its own)."""
    chain.append(
        [
            {
                "event_id": records.new_event_id(),
                "kind": AuditEvent.Kind.CONFIG,
                "at": timezone.now(),
                "action": "gateway.config.rolled_back",
                "actor": actor,
                "source": "rollback",
                "object_type": "registry.configrevision",
                "object_id": str(revision.version),
                "data": {"rolled_back_to": revision.version, "reason": reason, "changes": [str(c) for c in changes]},
            }
        ]
    )


def _sent_for_real(sender: type, actor: Any, method: str, url: str, real: Any, **kwargs: Any) -> None:
    """``gateway.simulator.sent``: an admin sent a request straight to a backend from the route simulator."""
    chain.append(
        [
            {
                "event_id": records.new_event_id(),
                "kind": AuditEvent.Kind.COMPLIANCE,
                "at": timezone.now(),
                "action": "gateway.simulator.sent",
                "actor": actor.name,
                "source": actor.source,
                "method": method,
                "object_type": "upstream_url",
                "object_id": url[:100],
                "status": real.status,
                "data": {"url": url, "status": real.status, "message": real.message},
            }
        ]
    )


def connect() -> None:
    from registry.revisions import rolled_back
    from registry.simulate_send import sent_for_real

    rolled_back.connect(_rolled_back, dispatch_uid="audit-rollback")
    sent_for_real.connect(_sent_for_real, dispatch_uid="audit-simulator-send")
    # Every model, filtered by ``journal_of`` when the signal comes: apps that track their models or
    # register admin pages after this one's ready() are journaled too.
    pre_save.connect(_before_save, dispatch_uid="audit-pre-save")
    post_save.connect(_after_save, dispatch_uid="audit-post-save")
    pre_delete.connect(_before_delete, dispatch_uid="audit-pre-delete")
    post_delete.connect(_after_delete, dispatch_uid="audit-post-delete")
    m2m_changed.connect(_relation_changed, dispatch_uid="audit-relations")
