from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from proxy.auth.revocation import GATEWAY_ISSUER
from registry.api.fields import StrictModelSerializer
from registry.api.problems import RULE
from registry.api.serializers import rule_errors
from revocation.models import AdminSession, JwtRevocation


class JwtRevocationSerializer(StrictModelSerializer):
    class Meta:
        model = JwtRevocation
        fields = ("id", "kind", "value", "issuer", "issued_before", "expires_at", "reason", "created_at", "created_by")
        read_only_fields: tuple[str, ...] = ("created_at", "created_by")

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
        request = self.context.get("request")
        user = getattr(request, "user", None)
        own = candidate.kind == JwtRevocation.Kind.SUBJECT and candidate.issuer in ("", GATEWAY_ISSUER)
        if own and user is not None and candidate.value == str(user.pk):
            message = "This would revoke the token you are signed in with; another admin must revoke your tokens."
            raise serializers.ValidationError({"value": [message]}, code=RULE)
        return attrs


class JwtRevocationChangeSerializer(JwtRevocationSerializer):
    """What an entry revokes is fixed once saved (lift it and add another): only these change."""

    class Meta(JwtRevocationSerializer.Meta):
        read_only_fields = ("kind", "value", "issuer", "issued_before", "created_at", "created_by")


class AdminSessionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = AdminSession
        fields = ("id", "user", "kind", "address", "user_agent", "started_at", "expires_at")
        read_only_fields = fields
