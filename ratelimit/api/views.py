"""``/admin/api/rate-policies/`` (``ratelimit/api/urls.py``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from ratelimit.api.serializers import RatePolicySerializer
from ratelimit.models import RatePolicy
from registry.api.views import ENABLED_PARAM, ConfigViewSet


@extend_schema_view(list=extend_schema(parameters=[ENABLED_PARAM]))
class RatePolicyViewSet(ConfigViewSet):
    """Rate policies: a limit per period on a subject, attached to routes, services, consumers or every route."""

    queryset = RatePolicy.objects.prefetch_related("routes", "services", "consumers")
    serializer_class = RatePolicySerializer
    lookup_field = "name"

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refuse_environment(self.get_object())
        return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refuse_environment(self.get_object())
        return super().destroy(request, *args, **kwargs)


def refuse_environment(policy: RatePolicy) -> None:
    if policy.from_environment:
        raise exceptions.PermissionDenied(f"{policy.description} Change the environment variable to change it.")
