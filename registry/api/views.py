"""Admin API viewsets: staff only (settings), each write one config change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import DjangoModelPermissions, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView

from registry import signin
from registry.api.auth_serializers import ApiKeySerializer, ConsumerSerializer, JwtIssuerSerializer, RotateSerializer
from registry.api.problems import CONFLICT
from registry.api.serializers import RouteSerializer, ServiceSerializer, TargetSerializer
from registry.models import ApiKey, Consumer, JwtIssuer, Route, Service, Target
from registry.services import config_change, issue_api_key, revoke_api_key, rotate_api_key

ENABLED_PARAM = OpenApiParameter("enabled", OpenApiTypes.BOOL, description="Only enabled (true) or disabled (false).")
SERVICE_PARAM = OpenApiParameter("service", OpenApiTypes.STR, description="Only objects of the service with this slug.")


class ModelPermissions(DjangoModelPermissions):
    """Django's model permissions, reads included (a viewer may not list API keys)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class ConfigViewSet(viewsets.ModelViewSet):
    # Staff only, and writes need the model permission: the admin roles (groups) apply here as in
    # the Django admin, so a viewer or compliance officer cannot change configuration through the API.
    permission_classes = [IsAdminUser, ModelPermissions]
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
        if "enabled" in params:
            # Exactly what the schema's boolean allows: anything else is a 400, not an ignored filter.
            if params["enabled"] not in ("true", "false"):
                raise serializers.ValidationError({"enabled": ["Use true or false."]})
            queryset = queryset.filter(enabled=params["enabled"] == "true")
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
    """Tokens are for the admin API only, so only staff get them, and only past every extra step
    feature apps add (``registry.signin``: a second factor). Issued and refused tokens are announced
    like sign-ins (``user_logged_in``, ``user_login_failed``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # As simplejwt's, with the rule its schema leaves out: a blank password is refused (minLength).
        self.fields["password"] = serializers.CharField(
            write_only=True, min_length=1, trim_whitespace=False, style={"input_type": "password"}
        )
        for extra in signin.token_fields():
            self.fields[extra.name] = serializers.CharField(
                required=False, write_only=True, allow_blank=True, help_text=extra.help_text
            )

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)  # a wrong password: Django's authenticate() sends user_login_failed
        request = self.context.get("request")
        django_request = getattr(request, "_request", request)
        try:
            if self.user is None or not self.user.is_staff:
                # Told as a wrong password: the answer does not reveal that the account exists.
                detail = str(self.error_messages["no_active_account"])
                raise signin.SignInRefused("not_staff", detail, "no_active_account")
            for check in signin.token_checks():
                check(self.user, self.initial_data)
        except signin.SignInRefused as refused:
            user_login_failed.send(
                sender=__name__,
                credentials={self.username_field: attrs.get(self.username_field, "")},
                request=django_request,
                reason=refused.reason,
            )
            if refused.code == "no_active_account":  # the same answer as a wrong password
                raise exceptions.AuthenticationFailed(refused.detail, refused.code) from None
            raise exceptions.AuthenticationFailed({"detail": refused.detail, "code": refused.code}) from None
        # ``tokens``: the pair issued, for receivers that keep track of sign-ins (revocation).
        user_logged_in.send(sender=type(self.user), request=django_request, user=self.user, tokens=data)
        return data


class StaffTokenObtainPairView(TokenObtainPairView):
    serializer_class = StaffTokenObtainPairSerializer


class ConsumerViewSet(ConfigViewSet):
    """Callers of routes. Deleting one deletes its keys."""

    queryset = Consumer.objects.select_related("user")
    serializer_class = ConsumerSerializer
    lookup_field = "name"


class JwtIssuerViewSet(ConfigViewSet):
    """Token issuers the gateway trusts."""

    queryset = JwtIssuer.objects.all()
    serializer_class = JwtIssuerSerializer


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("consumer", OpenApiTypes.STR)]))
class ApiKeyViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ApiKey]
):
    """API keys. The full key is in the creation response only. ``revoke`` stops a key and keeps it
    listed (with ``revoked_at``); DELETE removes it: it stops working and is gone (404 afterwards)."""

    permission_classes = ConfigViewSet.permission_classes

    queryset = ApiKey.objects.select_related("consumer")
    serializer_class = ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        queryset = super().get_queryset()
        if "consumer" in self.request.query_params:
            queryset = queryset.filter(consumer__name=self.request.query_params["consumer"])
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with config_change():
            issued = issue_api_key(data["consumer"], data.get("label", ""), data.get("expires_at"))
        body = ApiKeySerializer(issued.api_key, context={"issued_key": issued.key}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        api_key = self.get_object()
        with config_change():
            api_key.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Stop the key at once; it stays listed, with ``revoked_at`` set."""
        api_key = self.get_object()
        with config_change():
            revoke_api_key(api_key)
        return Response(ApiKeySerializer(api_key).data)

    @extend_schema(request=RotateSerializer, responses={201: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        """Issue a new key for the same consumer; the old one keeps working until ``old_valid_until``."""
        old = self.get_object()
        if old.revoked_at is not None:
            raise serializers.ValidationError({"detail": "A revoked key cannot be rotated."}, code=CONFLICT)
        params = RotateSerializer(data=request.data, context=self.get_serializer_context())
        params.is_valid(raise_exception=True)
        with config_change():
            issued = rotate_api_key(
                old, params.validated_data["old_valid_until"], params.validated_data.get("label", "")
            )
        body = ApiKeySerializer(issued.api_key, context={"issued_key": issued.key}).data
        return Response(body, status=status.HTTP_201_CREATED)
