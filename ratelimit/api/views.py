"""``/admin/api/rate-policies/`` (``ratelimit/api/urls.py``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from ratelimit.api.serializers import RatePolicySerializer
from ratelimit.models import RatePolicy
from registry.api.views import ENABLED_PARAM, ConfigViewSet


@extend_schema_view(list=extend_schema(parameters=[ENABLED_PARAM]))
class RatePolicyViewSet(ConfigViewSet):
    """Rate policies: a limit per period on a subject, attached to routes, services, consumers or every route."""

    queryset = RatePolicy.objects.prefetch_related("routes", "services", "consumers")
    serializer_class = RatePolicySerializer
    lookup_field = "name"
