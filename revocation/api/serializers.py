from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from registry.api.fields import StrictModelSerializer
from registry.api.serializers import rule_errors
from revocation.models import AdminSession, JwtRevocation


class JwtRevocationSerializer(StrictModelSerializer):
    class Meta:
        model = JwtRevocation
        fields = ("id", "kind", "value", "issuer", "issued_before", "expires_at", "reason", "created_at", "created_by")
        read_only_fields = ("created_at", "created_by")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            for name in ("kind", "value", "issuer", "issued_before"):  # fixed once saved (lift and add anew)
                fields[name].read_only = True
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        values = (
            {f.attname: getattr(current, f.attname) for f in JwtRevocation._meta.concrete_fields} if current else {}
        )
        candidate = JwtRevocation(**{**values, **attrs})
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(rule_errors(exc)) from None
        return attrs


class AdminSessionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = AdminSession
        fields = ("id", "user", "kind", "address", "user_agent", "started_at", "expires_at")
        read_only_fields = fields
