"""Serializers of the admin API: field validators from the models, then the model's own ``clean()``."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from registry import validators as v
from registry.declarative_entries import ROUTE_FIELDS, SERVICE_FIELDS
from registry.models import JwtIssuer, Route, Service, Target


@extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=v.HTTP_METHODS)))
class MethodsField(serializers.Field):
    """The model keeps ``"GET,POST"``; the API speaks ``["GET", "POST"]``. An empty list allows every method."""

    default_error_messages = {"not_a_list": 'Expected a list of method names, such as ["GET", "POST"].'}

    def get_value(self, dictionary: Any) -> Any:
        # Form posts (the browsable API) carry "GET,POST" or repeated keys rather than a JSON list.
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return [item for value in dictionary.getlist(self.field_name) for item in value.split(",")]
        return super().get_value(dictionary)

    def to_representation(self, value: str) -> list[str]:
        return list(v.parse_methods(value))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            self.fail("not_a_list")
        try:
            return ",".join(v.parse_methods(",".join(data)))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class ModelCleanSerializer(serializers.ModelSerializer):
    """Runs ``Model.clean()`` on the would-be instance and keeps the values it normalises."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A copy, so a request that fails validation never changes the instance the view holds.
        model: type[Model] = self.Meta.model
        instance = copy.copy(self.instance) if self.instance is not None else model()
        many = {f.name for f in model._meta.many_to_many}
        for name, value in attrs.items():
            if name not in many:  # many-to-many values are set after the save, not on the instance
                setattr(instance, name, value)
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
        return {name: attrs[name] if name in many else getattr(instance, name) for name in attrs}


# The breaker app's settings on a service (docs/health-and-breakers.md), as in the YAML format.
BREAKER_AND_HEALTH_FIELDS = tuple(name for name in SERVICE_FIELDS if name.startswith(("breaker_", "health_check_")))


class ServiceSerializer(ModelCleanSerializer):
    """An upstream service; other resources refer to it by ``slug``."""

    class Meta:
        model = Service
        fields = (
            "id",
            "name",
            "slug",
            "description",
            "protocol",
            "base_path",
            "connect_timeout",
            "read_timeout",
            "retries",
            "lb_algorithm",
            "preserve_host",
            "enabled",
            *BREAKER_AND_HEALTH_FIELDS,
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")


class TargetSerializer(ModelCleanSerializer):
    """One address of a service; traffic is shared by ``weight``."""

    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    address = serializers.CharField(read_only=True)

    class Meta:
        model = Target
        fields = (
            "id",
            "service",
            "host",
            "port",
            "address",
            "weight",
            "enabled",
            "breaker_failures",
            "breaker_open_seconds",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")


class RouteSerializer(ModelCleanSerializer):
    """Which requests reach a service; an empty ``methods`` list allows every method."""

    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    methods = MethodsField(required=False)
    jwt_issuers = serializers.SlugRelatedField(
        slug_field="name", queryset=JwtIssuer.objects.all(), many=True, required=False
    )

    class Meta:
        model = Route
        # The YAML format's route fields (registry/declarative_entries.py), plus the API's own.
        fields = ("id", "service", *ROUTE_FIELDS, "jwt_issuers", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")
