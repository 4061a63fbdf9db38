"""Second factors in the admin: the login form that asks for the code, and the devices of every
account (viewed, and deleted by whoever may: that is how an admin resets another account's MFA).
No secret is ever shown."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from mfa.forms import MfaAuthenticationForm
from mfa.models import BackupCodes, TotpDevice

# The default admin site's login (ratelimit/urls.py wraps it with the sign-in limit) uses these.
admin.site.login_form = MfaAuthenticationForm
admin.site.login_template = "mfa/login.html"


class DeviceAdmin(admin.ModelAdmin):
    list_display: tuple[str, ...] = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # set up by the account itself, on its own page

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(TotpDevice)
class TotpDeviceAdmin(DeviceAdmin):
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields


@admin.register(BackupCodes)
class BackupCodesAdmin(DeviceAdmin):
    list_display = ("user", "remaining", "created_at", "last_used_at")
    fields = ("user", "remaining", "created_at", "last_used_at")
    readonly_fields = fields
