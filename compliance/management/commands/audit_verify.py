"""``manage.py audit_verify [--from SEQ] [--to SEQ]``: check the audit hash chain (exit 1 if broken)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from compliance.services import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; names the first broken record and exits 1 if there is one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from_seq", type=int, default=None, help="First seq to check.")
        parser.add_argument("--to", dest="to_seq", type=int, default=None, help="Last seq to check.")

    def handle(self, *args: Any, **options: Any) -> None:
        run = verify_chain("command", options["from_seq"], options["to_seq"])
        if run.ok:
            self.stdout.write(self.style.SUCCESS(f"audit chain OK: {run.message} (head #{run.head_seq})"))
            return
        self.stderr.write(self.style.ERROR(f"audit chain BROKEN at record #{run.first_broken_seq}: {run.message}"))
        sys.exit(1)
