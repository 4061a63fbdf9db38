from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from ratelimit import services
from ratelimit.models import RatePolicy
from registry.api.fields import StrictModelSerializer
from registry.api.problems import RULE
from registry.api.serializers import rule_errors


class RatePolicySerializer(StrictModelSerializer):
    class Meta:
        model = RatePolicy
        fields = (
            "id",
            "name",
            "description",
            "scope",
            "header_name",
            "limit",
            "period",
            "burst",
            "algorithm",
            "failure_mode",
            "shadow",
            "enabled",
            "all_routes",
            "routes",
            "services",
            "consumers",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        relations = {}
        for name in ("routes", "services", "consumers"):
            if name in attrs:
                relations[name] = attrs[name]
            else:
                relations[name] = list(getattr(current, name).all()) if current is not None else []
        all_routes = attrs.get("all_routes", current.all_routes if current is not None else False)
        error = services.validate_attachments(all_routes, **relations)
        if error:
            raise serializers.ValidationError({"non_field_errors": [error]}, code=RULE)
        plain = {k: v for k, v in attrs.items() if k not in relations}
        candidate = RatePolicy(**{**_fields_of(current), **plain})
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(rule_errors(exc)) from None
        attrs["header_name"] = candidate.header_name
        return attrs


def _fields_of(instance: RatePolicy | None) -> dict[str, Any]:
    if instance is None:
        return {}
    return {f.attname: getattr(instance, f.attname) for f in RatePolicy._meta.concrete_fields}
