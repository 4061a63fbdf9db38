"""Who must give a second factor, and checking one.

``GATEWAY_ADMIN_MFA``:
- ``off``: no code is ever asked;
- ``optional``: any staff user may set up a second factor, and one who has must give a code at every
  sign-in (admin and ``/admin/api/token/``);
- ``required``: the same, and superusers and members of ``GATEWAY_ADMIN_MFA_GROUPS`` (default: the
  compliance officers; ``*``: every staff user) must set one up: until they do, a password sign-in
  reaches only the enrolment page, and the token endpoint refuses them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device


def mode() -> str:
    return str(settings.GATEWAY_ADMIN_MFA)


def has_device(user: Any) -> bool:
    return bool(user_has_device(user, confirmed=True))


def must_enrol(user: Any) -> bool:
    """The account needs a second factor it does not have yet."""
    if mode() != "required" or not user.is_authenticated or not user.is_staff or has_device(user):
        return False
    groups = settings.GATEWAY_ADMIN_MFA_GROUPS
    return bool(user.is_superuser or "*" in groups or user.groups.filter(name__in=groups).exists())


def asks_code(user: Any) -> bool:
    return mode() != "off" and has_device(user)


def verify(user: Any, code: str) -> Device | None:
    """The device that accepts ``code`` (an authenticator code or a backup code), if any."""
    code = code.strip()
    if not code:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(code):
                return device
    return None
