"""``{% audit_history object request.user as entries %}``: the audit chain's journal of one object,
newest first, with each change's fields before and after (for the admin's History pages; the
template is templates/admin/object_history.html). A service's or route's feature sections (breaker,
cache, ...) are journaled as rows of their own keyed by the owner: they are part of its history."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.db.models import Model, Q
from django.urls import NoReverseMatch, reverse

from compliance.journal import SKIP_FIELDS
from compliance.models import AuditEvent
from registry.sections import sections_of

register = template.Library()
LIMIT = 50
PERMISSION = "compliance.view_auditevent"
HIDDEN = SKIP_FIELDS | {"created_at"}  # bookkeeping: not what anyone changed


def _label(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _shown(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _entry(event: AuditEvent) -> dict[str, Any]:
    data = event.data or {}
    before, after = data.get("before"), data.get("after")
    before, after = (before if isinstance(before, dict) else {}), (after if isinstance(after, dict) else {})
    names = data.get("changed") or sorted(
        k for k in {*before, *after} if k not in HIDDEN and before.get(k) != after.get(k)
    )
    try:
        url = reverse("admin:compliance_auditevent_change", args=[event.pk])
    except NoReverseMatch:
        url = ""
    return {
        "seq": event.seq,
        "at": event.at,
        "action": event.action,
        "actor": event.actor or "-",
        "source": event.source,
        "url": url,
        # A secret is named in "changed" but never recorded: its values stay empty.
        "fields": [(name, _shown(before.get(name)), _shown(after.get(name))) for name in names],
    }


@register.simple_tag
def audit_history(obj: Model, user: Any) -> dict[str, Any]:
    if not user.has_perm(PERMISSION):
        return {"allowed": False, "entries": []}
    types = [_label(type(obj)), *(_label(s.model) for s in sections_of(type(obj)))]
    events = AuditEvent.objects.filter(Q(object_type__in=types) & Q(object_id=str(obj.pk))).order_by("-seq")
    return {"allowed": True, "entries": [_entry(e) for e in events[:LIMIT]]}
