"""The account's two-factor pages, under the admin (so only signed-in staff reach them)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from mfa import views

urlpatterns = [
    path("admin/mfa/", admin.site.admin_view(views.overview), name="mfa-overview"),
    path("admin/mfa/enrol/", admin.site.admin_view(views.enrol), name="mfa-enrol"),
    path("admin/mfa/backup-codes/", admin.site.admin_view(views.backup_codes), name="mfa-backup-codes"),
    path("admin/mfa/remove/", admin.site.admin_view(views.remove), name="mfa-remove"),
]
