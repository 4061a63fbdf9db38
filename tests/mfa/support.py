"""Accounts with second factors, and codes computed from their secrets as an authenticator app would."""

from __future__ import annotations

import time

from django.contrib.auth.models import User
from django_otp.oath import totp

from mfa.models import BackupCodes, TotpDevice
from mfa.sealing import code_digest, seal

PASSWORD = "pw-mfa-test-123456"
SECRET = b"0123456789abcdefghij"


def code(secret: bytes = SECRET, steps_ahead: int = 0) -> str:
    """The authenticator app's code now (or ``steps_ahead`` 30-second steps later)."""
    return f"{totp(secret, step=30, t0=0, digits=6, drift=steps_ahead):06d}"


def staff(name: str, superuser: bool = False) -> User:
    return User.objects.create_user(name, password=PASSWORD, is_staff=True, is_superuser=superuser)


def with_app(user: User, secret: bytes = SECRET) -> TotpDevice:
    # Its last step is before now: the current code works once.
    last = int(time.time()) // 30 - 2
    return TotpDevice.objects.create(user=user, name="app", encrypted_key=seal(secret), last_t=last)


def with_backup_codes(user: User, *codes: str) -> BackupCodes:
    return BackupCodes.objects.create(user=user, name="codes", digests=[code_digest(c) for c in codes])
