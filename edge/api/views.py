"""``/admin/api/edge-defaults/`` (one object) and ``/admin/api/edge-consumers/``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from edge.api.serializers import ConsumerEdgeSerializer, EdgeDefaultsSerializer
from edge.models import ConsumerEdge, EdgeDefaults
from registry.api.views import ENABLED_PARAM, ConfigViewSet, ModelPermissions
from registry.services import config_change


class EdgeDefaultsView(generics.RetrieveUpdateAPIView):
    """The edge defaults: CORS, security headers, IP lists and transformations for every route."""

    permission_classes = [IsAdminUser, ModelPermissions]
    queryset = EdgeDefaults.objects.all()
    serializer_class = EdgeDefaultsSerializer

    def get_object(self) -> EdgeDefaults:
        row = EdgeDefaults.load()
        self.check_object_permissions(self.request, row)
        return row

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with config_change():
            return super().update(request, *args, **kwargs)


@extend_schema_view(list=extend_schema(parameters=[ENABLED_PARAM]))
class ConsumerEdgeViewSet(ConfigViewSet):
    """Each consumer's edge settings, by consumer name."""

    queryset = ConsumerEdge.objects.select_related("consumer").order_by("consumer__name")
    serializer_class = ConsumerEdgeSerializer
    lookup_field = "consumer__name"
    lookup_url_kwarg = "consumer"
