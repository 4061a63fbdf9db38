"""``/admin/api/rate-policies/`` (merged into the admin API by ``gateway_project.urls``)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from ratelimit.api.views import RatePolicyViewSet

router = SimpleRouter()
router.register("rate-policies", RatePolicyViewSet, basename="rate-policy")
urlpatterns: list[object] = []
