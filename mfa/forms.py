"""The admin login form: username, password and (for accounts that have one) the second factor's
code, checked in the same step, so no session exists that passed the password alone."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError

from mfa import policy


class MfaAuthenticationForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        required=False,
        label="Authentication code",
        help_text="From your authenticator app, or a backup code. Leave it empty if you have not set one up.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 12}),
    )

    def confirm_login_allowed(self, user: Any) -> None:
        try:
            super().confirm_login_allowed(user)  # active staff only
        except ValidationError:
            self._refused("not_staff")
            raise
        if not policy.asks_code(user):
            return
        code = self.cleaned_data.get("otp_token") or ""
        device = policy.verify(user, code)
        if device is None:
            self._refused("mfa_code_invalid" if code.strip() else "mfa_code_missing")
            raise ValidationError(
                "Enter the current code of your authenticator app, or one of your backup codes.", code="mfa"
            )
        user.otp_device = device  # django_otp marks the session verified when the login completes

    def _refused(self, reason: str) -> None:
        username = self.cleaned_data.get("username", "")
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=self.request, reason=reason)
