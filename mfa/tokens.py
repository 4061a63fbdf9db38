"""The admin API's token endpoint asks for the code too (``registry.signin``): field ``otp``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mfa import policy
from registry.signin import SignInRefused, TokenField

OTP_FIELD = TokenField(
    "otp",
    "The current code of your authenticator app (or a backup code), for accounts with two-factor authentication.",
)


def check_token_sign_in(user: Any, data: Mapping[str, Any]) -> None:
    if policy.mode() == "off":
        return
    if policy.has_device(user):
        code = str(data.get("otp") or "")
        if not code.strip():
            raise SignInRefused(
                "mfa_code_missing",
                'This account uses two-factor authentication: send the code as "otp".',
                "mfa_required",
            )
        if policy.verify(user, code) is None:
            raise SignInRefused(
                "mfa_code_invalid", "The authentication code is wrong or was used already.", "mfa_invalid"
            )
    elif policy.must_enrol(user):
        raise SignInRefused(
            "mfa_enrolment_required",
            "This account must set up two-factor authentication (/admin/mfa/) before it gets API tokens.",
            "mfa_enrolment_required",
        )
