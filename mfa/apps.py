from __future__ import annotations

from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Two-factor authentication"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks registers system checks; admin registers the device pages and the login form.
        from mfa import admin, checks  # noqa: F401
        from mfa.tokens import OTP_FIELD, check_token_sign_in
        from registry.signin import add_token_check

        add_token_check(check_token_sign_in, OTP_FIELD)
