"""``/admin/api/cache-purges/`` (``cache/api/urls.py``): list the purges, POST one to purge."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from cache import services
from cache.api.serializers import CachePurgeSerializer
from cache.models import CachePurge
from proxy.errors import DependencyDown, problem_response
from registry.api.views import ConfigViewSet


class CachePurgeViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[CachePurge]
):
    """Response cache purges, newest first. POST purges at once and answers the record (503 problem+json
    when the cache's Redis cannot be reached: nothing was purged)."""

    permission_classes = ConfigViewSet.permission_classes
    queryset = CachePurge.objects.all()
    serializer_class = CachePurgeSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            record = services.purge(
                data["kind"], route=data.get("route"), prefix=data.get("prefix", ""), tag=data.get("tag", "")
            )
        except services.PurgeFailed as exc:
            error = DependencyDown(f"Nothing was purged: {exc}", reason="cache_unavailable")
            return problem_response(request._request, error)
        return Response(CachePurgeSerializer(record).data, status=status.HTTP_201_CREATED)
