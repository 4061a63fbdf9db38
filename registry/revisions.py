"""Config versions with their snapshots, and rolling back to one.

After every committed change (``registry.services.bump_config_version`` asks for it with
``transaction.on_commit``) ``record_revision`` stores the version's whole declarative configuration
(``gateway_export``'s text: secrets are never in it), who made the change and from where, and a
one-line summary of what changed since the previous recorded version. It holds the version row's
lock while it exports, so the snapshot is exactly what that version holds.

``roll_back`` applies a version's snapshot through ``gateway_apply``'s own path (the same parsing,
validation against today's rules, plan and audited writes), acting as ``rollback``: the rollback is a
new version, and every row it changes is journaled. ``rolled_back`` is sent inside the rollback's
transaction (the compliance app records it in the audit chain).
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.dispatch import Signal

from registry.actors import Actor, acting_as
from registry.declarative import Change, apply_config
from registry.declarative.compare import compare, summarize
from registry.declarative.export import export_data
from registry.models import ConfigRevision, ConfigVersion

log = logging.getLogger(__name__)

# Sent with revision (the version rolled back to), changes, reason and actor, inside the rollback's transaction.
rolled_back = Signal()


@dataclass(frozen=True, slots=True)
class Note:
    """What a rollback adds to the version it makes."""

    rolled_back_to: int
    reason: str


_note: contextvars.ContextVar[Note | None] = contextvars.ContextVar("config_revision_note", default=None)


def current_note() -> Note | None:
    return _note.get()


@contextmanager
def _noting(note: Note) -> Iterator[None]:
    token = _note.set(note)
    try:
        yield
    finally:
        _note.reset(token)


def record_revision(actor: Actor, note: Note | None = None) -> ConfigRevision | None:
    """Store the current version's snapshot, unless it is stored already. Never raises: a change
    that committed must not fail because its snapshot could not be written (it is logged)."""
    try:
        with transaction.atomic():
            row = ConfigVersion.objects.select_for_update().filter(pk=1).first()
            if row is None or ConfigRevision.objects.filter(version=row.version).exists():
                return None
            data_json = json.dumps(export_data(), cls=DjangoJSONEncoder)
            data = json.loads(data_json)  # lists, not tuples
            previous = ConfigRevision.objects.filter(version__lt=row.version).order_by("-version").first()
            if previous is None:
                summary = "First recorded version."
            else:
                summary = summarize(compare(previous.data, data))
            if note is not None:
                summary = f"Rolled back to v{note.rolled_back_to}: {note.reason}"[:300]
            return ConfigRevision.objects.create(
                version=row.version,
                actor=actor.name[:150],
                source=actor.source if actor.source in ConfigRevision.Source.values else ConfigRevision.Source.SHELL,
                summary=summary,
                reason=note.reason if note else "",
                rolled_back_to=note.rolled_back_to if note else None,
                data_json=data_json,
            )
    except Exception:
        log.exception("could not record the snapshot of the config version")
        return None


@dataclass(frozen=True, slots=True)
class Rollback:
    changes: list[Change]
    revision: ConfigRevision | None  # the version the rollback made (None: nothing to change)


class ReasonRequired(ValueError):
    pass


def roll_back(revision: ConfigRevision, *, reason: str, actor: str, dry_run: bool = False) -> Rollback:
    """Make the configuration what ``revision`` held, as a new version. Raises
    ``registry.declarative.ConfigError`` (nothing written) when today's rules refuse the snapshot."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired("Say why you roll back: a reason is required.")
    note = Note(revision.version, reason)
    with acting_as(actor, "rollback"), _noting(note):
        with transaction.atomic():
            changes = apply_config(revision.snapshot, prune=True, dry_run=dry_run)
            if changes and not dry_run:
                rolled_back.send(ConfigRevision, revision=revision, changes=changes, reason=reason, actor=actor)
        made = None
        if changes and not dry_run:
            version = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
            made = ConfigRevision.objects.filter(version=version).first()
            if made is None:  # inside a caller's transaction: on_commit has not run yet
                made = record_revision(Actor(actor, "rollback"), note)
    return Rollback(changes, made)
