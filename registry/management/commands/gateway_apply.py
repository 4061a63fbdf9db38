"""``manage.py gateway_apply FILE``: make services, targets and routes match a YAML file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.actors import acting_as, os_user
from registry.declarative import Change, ConfigError, Verb, apply_config
from registry.services import current_config_version


class Command(BaseCommand):
    help = (
        "Make the database's services, targets and routes match a YAML file (see docs/configuration.md). "
        "Prints the changes; writes nothing if any entry is invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The YAML file, or - to read standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Show the changes without writing them.")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Drift check: write nothing; exit 1 and print the changes when the database differs from the file.",
        )
        parser.add_argument(
            "--prune",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="Disable (never delete) services, targets and routes that are not in the file (default: on).",
        )
        parser.add_argument("--actor", default="", help="Who applies the file, for the audit trail (default: OS user).")

    def handle(self, *args: Any, **options: Any) -> None:
        source, text = _read(options["file"])
        try:
            with acting_as(options["actor"] or os_user(), "apply"):
                dry_run = options["dry_run"] or options["check"]
                changes = apply_config(text, prune=options["prune"], dry_run=dry_run)
        except ConfigError as exc:
            for line in exc.lines(source):
                self.stderr.write(line)
            raise CommandError(f"{source}: {len(exc.problems)} problem(s); nothing was changed.") from None
        for change in changes:
            self.stdout.write(self._styled(change))
        if not changes:
            self.stdout.write(f"{source}: no changes; the database already matches the file.")
        elif options["check"]:
            raise CommandError(
                f"{source}: drift: the database differs from the file in {len(changes)} change(s).", returncode=1
            )
        elif options["dry_run"]:
            self.stdout.write(f"Dry run: {len(changes)} change(s) would be made; nothing was written.")
        else:
            version = current_config_version()
            self.stdout.write(self.style.SUCCESS(f"{len(changes)} change(s) applied; config version {version}."))

    def _styled(self, change: Change) -> str:
        style = {Verb.CREATE: self.style.SUCCESS, Verb.UPDATE: self.style.WARNING, Verb.DISABLE: self.style.NOTICE}
        return style[change.verb](str(change))


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return "<stdin>", sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return path, handle.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
