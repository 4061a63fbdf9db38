"""Admin API viewsets: staff only (settings), each write one config change."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView

from registry.api.serializers import RouteSerializer, ServiceSerializer, TargetSerializer
from registry.models import Route, Service, Target
from registry.services import config_change

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

ENABLED_PARAM = OpenApiParameter("enabled", OpenApiTypes.BOOL, description="Only enabled (true) or disabled (false).")
SERVICE_PARAM = OpenApiParameter("service", OpenApiTypes.STR, description="Only objects of the service with this slug.")


class ConfigViewSet(viewsets.ModelViewSet):
    filters_by_service = False

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with config_change():
            return super().create(request, *args, **kwargs)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with config_change():
            return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with config_change():
            return super().destroy(request, *args, **kwargs)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        params = self.request.query_params
        enabled = params.get("enabled", "").strip().lower()
        if enabled in _TRUE | _FALSE:
            queryset = queryset.filter(enabled=enabled in _TRUE)
        elif enabled:
            raise serializers.ValidationError({"enabled": ["Use true or false."]})
        if self.filters_by_service and "service" in params:
            queryset = queryset.filter(service__slug=params["service"])
        return queryset


@extend_schema_view(list=extend_schema(parameters=[ENABLED_PARAM]))
class ServiceViewSet(ConfigViewSet):
    """Upstream services. Deleting one deletes its targets and routes."""

    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
    lookup_field = "slug"


@extend_schema_view(list=extend_schema(parameters=[SERVICE_PARAM, ENABLED_PARAM]))
class TargetViewSet(ConfigViewSet):
    """The addresses a service's traffic is balanced over."""

    queryset = Target.objects.select_related("service")
    filters_by_service = True
    serializer_class = TargetSerializer


@extend_schema_view(list=extend_schema(parameters=[SERVICE_PARAM, ENABLED_PARAM]))
class RouteViewSet(ConfigViewSet):
    """Which requests reach which service."""

    queryset = Route.objects.select_related("service")
    filters_by_service = True
    serializer_class = RouteSerializer


class StaffTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Tokens are for the admin API only, so only staff get them."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)
        if self.user is None or not self.user.is_staff:
            raise exceptions.AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account")
        return data


class StaffTokenObtainPairView(TokenObtainPairView):
    serializer_class = StaffTokenObtainPairSerializer
