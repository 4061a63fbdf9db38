"""``manage.py mfa_reset USERNAME``: lost-device recovery. Removes every second factor of the account
(its authenticator app and backup codes); its next sign-in is with the password, and under
``GATEWAY_ADMIN_MFA=required`` it must set up a new one before anything else. Each removal is an
``access.mfa.removed`` event in the audit chain, with the OS user who ran this as the actor."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mfa.models import BackupCodes, TotpDevice
from registry.actors import acting_as, os_user


class Command(BaseCommand):
    help = "Remove every second factor of an admin account (lost device); audited."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--actor", default="", help="Who resets it, as the audit chain records (default: OS user).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user is named {options['username']!r}.")
        removed = 0
        with acting_as(options["actor"] or os_user(), "shell"), transaction.atomic():
            for model in (TotpDevice, BackupCodes):
                for device in model.objects.filter(user=user):
                    device.delete()  # journaled one by one: access.mfa.removed
                    removed += 1
        self.stdout.write(f"removed {removed} second factor(s) of {user.get_username()}")
