"""``/admin/api/cache-purges/`` (merged into the admin API by ``gateway_project.urls``)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from cache.api.views import CachePurgeViewSet

router = SimpleRouter()
router.register("cache-purges", CachePurgeViewSet, basename="cache-purge")
urlpatterns: list[object] = []
