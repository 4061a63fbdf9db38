"""Sign-ins are rate limited per client address (``ratelimit.login``), ahead of the views they wrap."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from ratelimit.login import limit_logins
from registry.api.views import StaffTokenObtainPairView

urlpatterns = [
    path("admin/api/token/", limit_logins(StaffTokenObtainPairView.as_view()), name="limited-token"),
    path("admin/login/", limit_logins(admin.site.login), name="limited-login"),
]
