"""Extra steps of a sign-in to the admin API (``/admin/api/token/``), added by feature apps.

A feature that asks more than a password (a second factor) adds a check with ``add_token_check``:
``check(user, data)`` gets the user whose password was right and the request's fields, and raises
``SignInRefused`` to refuse the token. ``fields`` are the request fields it reads: the token
endpoint accepts them and its OpenAPI schema lists them. Every outcome is announced with Django's
own signals: ``user_logged_in`` for a token issued, ``user_login_failed`` (with ``reason``) for a
sign-in refused after the password (Django sends it itself for a wrong password).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SignInRefused(Exception):
    def __init__(self, reason: str, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.reason = reason  # for the audit trail: not_staff, mfa_code_missing...
        self.detail = detail  # what the caller is told
        self.code = code or reason  # the error code the caller is told (may hide the reason)


@dataclass(frozen=True, slots=True)
class TokenField:
    name: str
    help_text: str


TokenCheck = Callable[[Any, Mapping[str, Any]], None]
_checks: list[TokenCheck] = []
_fields: list[TokenField] = []


def add_token_check(check: TokenCheck, *fields: TokenField) -> None:
    if check not in _checks:
        _checks.append(check)
        _fields.extend(f for f in fields if f not in _fields)


def token_checks() -> tuple[TokenCheck, ...]:
    return tuple(_checks)


def token_fields() -> tuple[TokenField, ...]:
    return tuple(_fields)
