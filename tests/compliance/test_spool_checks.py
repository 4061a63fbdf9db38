"""Boot checks of the audit spool settings."""

from __future__ import annotations

from pathlib import Path

from django.test import override_settings

from compliance.checks import check_audit_settings


def ids() -> set[str]:
    return {problem.id for problem in check_audit_settings(None)}


def test_the_default_settings_pass() -> None:
    assert not {i for i in ids() if i.startswith("compliance.E")}


@override_settings(GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES=1024 * 1024, GATEWAY_AUDIT_SPOOL_MAX_BYTES=1024 * 1024)
def test_a_spool_smaller_than_two_files_is_refused() -> None:
    assert "compliance.E004" in ids()


def test_a_spool_directory_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    blocker.chmod(0o600)
    with override_settings(GATEWAY_AUDIT_SPOOL_DIR=str(blocker / "spool")):
        assert "compliance.E005" in ids()
    with override_settings(GATEWAY_AUDIT_SPOOL_DIR=str(tmp_path / "new" / "spool")):
        assert "compliance.E005" not in ids()
