"""Verb functions that change the control plane's state; admin, API and commands call these."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, models, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from proxy.auth.apikeys import generate_key
from proxy.redis_clients import sync_client
from registry.models import ApiKey, ConfigVersion, Consumer

log = logging.getLogger(__name__)

CONFIG_CHANNEL = "gateway:config"
_local = threading.local()
_listeners: list[Callable[[int], None]] = []
_tracked: dict[type[models.Model], tuple[str, ...]] = {}


def current_config_version() -> int:
    row = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(row or 0)


def bump_config_version() -> None:
    """Bump the version inside the caller's transaction; notify processes after it commits."""
    if getattr(_local, "suppressed", 0):
        _local.pending = True
        return
    # .update() skips auto_now: the time is set here, or "Changed at" would show the first change.
    updated = ConfigVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now())
    if not updated:
        ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    transaction.on_commit(_notify_after_commit)
    transaction.on_commit(_snapshot_after_commit())


def _snapshot_after_commit() -> Callable[[], None]:
    """Records the version's snapshot once committed, naming who made it (known now, maybe not then)."""
    from registry.actors import current_actor
    from registry.revisions import current_note, record_revision

    actor, note = current_actor(), current_note()

    def record() -> None:
        record_revision(actor, note)

    return record


def track_changes(model: type[models.Model], *m2m: str) -> None:
    """Saving or deleting a ``model`` row (or changing one of its ``m2m`` relations) is a config
    change: it bumps the version, and the audit journal records it. Each app tracks the models its
    snapshot loader reads, from its ``AppConfig.ready``."""
    _tracked[model] = m2m
    name = model.__name__
    post_save.connect(_row_changed, sender=model, dispatch_uid=f"bump-on-save-{name}")
    post_delete.connect(_row_changed, sender=model, dispatch_uid=f"bump-on-delete-{name}")
    for field in m2m:
        through = getattr(model, field).through
        m2m_changed.connect(_relation_changed, sender=through, dispatch_uid=f"bump-on-{name}-{field}")


def tracked_models() -> dict[type[models.Model], tuple[str, ...]]:
    """Every tracked model, with its tracked many-to-many fields."""
    return dict(_tracked)


def _row_changed(sender: type, **kwargs: Any) -> None:
    if not kwargs.get("raw"):  # loaddata: the fixture's own rows, bumped by the command that loads them
        bump_config_version()


def _relation_changed(sender: type, **kwargs: Any) -> None:
    if kwargs.get("action", "").startswith("post_"):
        bump_config_version()


@contextmanager
def one_config_change() -> Iterator[None]:
    """Group many saves (``gateway_apply``) into one version bump at the end."""
    _local.suppressed = getattr(_local, "suppressed", 0) + 1
    if _local.suppressed == 1:
        _local.pending = False
    try:
        yield
    finally:
        _local.suppressed -= 1
    if _local.pending and not _local.suppressed:
        _local.pending = False
        bump_config_version()


@contextmanager
def config_change() -> Iterator[None]:
    """One transaction and one version bump for a whole change (an API request, an admin save).

    Locking the version row first serialises concurrent writers, so Route.clean()'s clash check
    cannot pass for two changes that would clash with each other.
    """
    with transaction.atomic(), one_config_change():
        ConfigVersion.objects.select_for_update().filter(pk=1).first()
        yield


def add_listener(callback: Callable[[int], None]) -> None:
    """Called (from any thread) with the new version after each committed change in this process."""
    _listeners.append(callback)


def remove_listener(callback: Callable[[int], None]) -> None:
    if callback in _listeners:
        _listeners.remove(callback)


def _notify_after_commit() -> None:
    version = current_config_version()
    for callback in list(_listeners):
        try:
            callback(version)
        except Exception:  # a listener must never break the admin's save
            log.exception("config listener failed")
    if settings.REDIS_URL:
        publish_version(version)


def publish_version(version: int) -> None:
    import redis

    try:
        with sync_client() as client:
            client.publish(CONFIG_CHANNEL, str(version))
    except redis.RedisError as exc:
        # The polling fallback picks the change up within GATEWAY_CONFIG_POLL_INTERVAL.
        log.warning("could not publish config version %s to Redis: %s", version, exc)


# --- Consumers and API keys ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedKey:
    api_key: ApiKey
    key: str  # the full key: show it once, never store it


def issue_api_key(consumer: Consumer, label: str = "", expires_at: datetime | None = None) -> IssuedKey:
    """Create a key for ``consumer``; the new key works as soon as the table is rebuilt (about a second)."""
    new = generate_key(settings.GATEWAY_API_KEY_PEPPER)
    api_key = ApiKey.objects.create(
        consumer=consumer, prefix=new.prefix, digest=new.digest, label=label, expires_at=expires_at
    )
    return IssuedKey(api_key, new.key)


def rotate_api_key(old: ApiKey, old_valid_until: datetime, label: str = "") -> IssuedKey:
    """A new key for the same consumer; the old one keeps working until ``old_valid_until``."""
    with transaction.atomic(), one_config_change():
        issued = issue_api_key(old.consumer, label or old.label, expires_at=None)
        if old.expires_at is None or old.expires_at > old_valid_until:
            old.expires_at = old_valid_until
            old.save(update_fields=["expires_at"])
    return issued


def revoke_api_key(api_key: ApiKey) -> None:
    """Stops the key at once: the save bumps the config version, and every process drops it."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


def record_key_usage(used: dict[int, float]) -> None:
    """Write 'last used' times batched by ``proxy.auth.usage``; no version bump (``update`` sends no signal)."""
    close_old_connections()
    for key_id, at in used.items():
        ApiKey.objects.filter(pk=key_id).update(last_used_at=datetime.fromtimestamp(at, tz=UTC))
