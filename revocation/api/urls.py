"""``/admin/api/jwt-revocations/`` and ``/admin/api/admin-sessions/`` (merged into the admin API by
``gateway_project.urls``)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from revocation.api.views import AdminSessionViewSet, JwtRevocationViewSet

router = SimpleRouter()
router.register("jwt-revocations", JwtRevocationViewSet, basename="jwt-revocation")
router.register("admin-sessions", AdminSessionViewSet, basename="admin-session")
urlpatterns: list[object] = []
