"""Event builders and users for the compliance officer's tests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone

from compliance import chain
from compliance.models import AuditEvent

PASSWORD = "pw-officer-123456"


def event(**fields: Any) -> dict[str, Any]:
    """A proxied-request record as the traffic audit writes it, with fields overridden."""
    return {
        "event_id": uuid.uuid4().hex,
        "kind": "request",
        "at": timezone.now(),
        "action": "request.proxied",
        "request_id": uuid.uuid4().hex,
        "client_ip": "192.0.2.10",
        "method": "GET",
        "path": "/orders/1",
        "route": "orders",
        "service": "shop",
        "target": "127.0.0.1:9000",
        "status": 200,
        "latency_ms": 3.5,
        "bytes_out": 120,
    } | fields


def add(*records: dict[str, Any]) -> None:
    chain.append(list(records))


def mark_erased(**lookup: Any) -> None:
    """Flag events as erased, as a GDPR erasure leaves them (``chain.append`` never writes an erased event)."""
    with chain.maintenance():
        AuditEvent.objects.filter(**lookup).update(erased=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.get_default_timezone())


def staff(name: str, group: str) -> User:
    user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def streamed(response: Any) -> bytes:
    """The body of a streamed (export) or file (download) response of the test client."""
    return b"".join(response.streaming_content)
