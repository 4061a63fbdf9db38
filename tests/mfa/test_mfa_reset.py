"""Lost-device recovery: ``manage.py mfa_reset`` removes an account's second factors, audited."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from compliance.models import AuditEvent
from mfa.models import BackupCodes, TotpDevice
from tests.mfa.support import staff, with_app, with_backup_codes

pytestmark = pytest.mark.django_db


def test_a_reset_removes_every_second_factor_and_is_recorded() -> None:
    user = staff("hal")
    with_app(user)
    with_backup_codes(user, "aaaaa-bbbbb")
    out = io.StringIO()
    call_command("mfa_reset", "hal", "--actor", "oncall-ops", stdout=out)
    assert "removed 2" in out.getvalue()
    assert not TotpDevice.objects.filter(user=user).exists() and not BackupCodes.objects.filter(user=user).exists()
    removed = AuditEvent.objects.filter(action="access.mfa.removed").order_by("seq")
    assert [(e.actor, e.source, e.object_type) for e in removed] == [
        ("oncall-ops", "shell", "mfa.totpdevice"),
        ("oncall-ops", "shell", "mfa.backupcodes"),
    ]
