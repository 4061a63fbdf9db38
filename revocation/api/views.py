"""``/admin/api/jwt-revocations/`` and ``/admin/api/admin-sessions/`` (``revocation/api/urls.py``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.views import ModelPermissions
from revocation import services
from revocation.api.serializers import AdminSessionSerializer, JwtRevocationChangeSerializer, JwtRevocationSerializer
from revocation.models import AdminSession, JwtRevocation
from revocation.store import RevocationUnavailable

KIND_PARAM = OpenApiParameter(
    "kind", OpenApiTypes.STR, enum=["jti", "subject"], description="Only entries of this kind."
)
PROBLEM = "application/problem+json"
UNAVAILABLE = {
    (503, PROBLEM): OpenApiResponse(OpenApiTypes.OBJECT, description="Redis did not take the change; nothing changed.")
}
IN_USE = {(409, PROBLEM): OpenApiResponse(OpenApiTypes.OBJECT, description="The sign-in this request uses.")}
USER_PARAM = OpenApiParameter("user", OpenApiTypes.STR, description="Only the sign-ins of the user with this username.")


class Unavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The revocation could not be handed to every process; nothing was changed."
    default_code = "revocation_unavailable"


class Distributed:
    """Writes in one transaction; a Redis failure undoes them and answers 503."""

    def perform_create(self, serializer: Any) -> None:
        self._atomic(lambda: serializer.save())

    def perform_update(self, serializer: Any) -> None:
        self._atomic(lambda: serializer.save())

    def perform_destroy(self, instance: Any) -> None:
        self._atomic(instance.delete)

    @staticmethod
    def _atomic(step: Any) -> None:
        try:
            with transaction.atomic():
                step()
        except RevocationUnavailable as exc:
            raise Unavailable(f"{exc} Nothing was changed.") from None


class InUse(exceptions.APIException):
    status_code = 409
    default_detail = "This request is made with that sign-in; sign out instead, or end it from another one."
    default_code = "conflict"


def _in_use(request: Request, row: AdminSession) -> bool:
    token = request.auth
    if token is not None and hasattr(token, "payload"):
        jti = token.payload.get("jti")
        return any(entry[0] == jti for entry in row.access_tokens)
    session = getattr(request._request, "session", None)
    return session is not None and session.session_key == row.key


@extend_schema_view(
    list=extend_schema(parameters=[KIND_PARAM]),
    create=extend_schema(responses={201: JwtRevocationSerializer, **UNAVAILABLE}),
    partial_update=extend_schema(responses={200: JwtRevocationSerializer, **UNAVAILABLE}),
    destroy=extend_schema(responses={204: None, **UNAVAILABLE}),
)
class JwtRevocationViewSet(Distributed, viewsets.ModelViewSet):
    """Revoked JWTs: one token by jti, or every token of a subject issued before a time. Refused by
    every gateway process within a second; deleting an entry lifts it."""

    queryset = JwtRevocation.objects.all()
    serializer_class = JwtRevocationSerializer
    permission_classes = [IsAdminUser, ModelPermissions]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_serializer_class(self) -> Any:
        if self.action == "partial_update":
            return JwtRevocationChangeSerializer
        return JwtRevocationSerializer

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        kind = self.request.query_params.get("kind")
        if kind is not None:
            if kind not in JwtRevocation.Kind.values:
                raise exceptions.ValidationError({"kind": ["Use jti or subject."]})
            queryset = queryset.filter(kind=kind)
        return queryset


@extend_schema_view(
    list=extend_schema(parameters=[USER_PARAM]), destroy=extend_schema(responses={204: None, **UNAVAILABLE, **IN_USE})
)
class AdminSessionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The admin's sign-ins (browser sessions and admin API tokens): when, from which address.
    Deleting one ends it at once: the browser is signed out, the tokens are revoked."""

    queryset = AdminSession.objects.select_related("user")
    serializer_class = AdminSessionSerializer
    permission_classes = [IsAdminUser, ModelPermissions]

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        username = self.request.query_params.get("user")
        if username is not None:
            user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
            if user is None:
                return queryset.none()
            ids = [row.pk for row in services.active_sign_ins(user)]
            queryset = queryset.filter(pk__in=ids)
        return queryset

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.get_object()
        if _in_use(request, row):
            raise InUse()
        try:
            services.end_sign_ins([row])
        except RevocationUnavailable as exc:
            raise Unavailable(f"{exc} Nothing was changed.") from None
        return Response(status=204)
