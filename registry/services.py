"""Verb functions that change the control plane's state; admin, API and commands call these."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import F

from registry.models import ConfigVersion

log = logging.getLogger(__name__)

CONFIG_CHANNEL = "gateway:config"
_local = threading.local()
_listeners: list[Callable[[int], None]] = []


def current_config_version() -> int:
    row = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(row or 0)


def bump_config_version() -> None:
    """Bump the version inside the caller's transaction; notify processes after it commits."""
    if getattr(_local, "suppressed", 0):
        _local.pending = True
        return
    updated = ConfigVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    transaction.on_commit(_notify_after_commit)


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
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        with client:
            client.publish(CONFIG_CHANNEL, str(version))
    except redis.RedisError as exc:
        # The polling fallback picks the change up within GATEWAY_CONFIG_POLL_INTERVAL.
        log.warning("could not publish config version %s to Redis: %s", version, exc)
