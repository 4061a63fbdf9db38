"""``/admin/api/edge-defaults/`` and ``/admin/api/edge-consumers/`` (merged into the admin API by
``gateway_project.urls``)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from edge.api.views import ConsumerEdgeViewSet, EdgeDefaultsView

router = SimpleRouter()
router.register("edge-consumers", ConsumerEdgeViewSet, basename="edge-consumer")
urlpatterns = [path("edge-defaults/", EdgeDefaultsView.as_view(), name="edge-defaults")]
