"""Admin API serializers for consumers, API keys and JWT issuers. Keys are write-once: the full key
appears only in the response that creates it; secrets of issuers are never read back."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from registry.api.serializers import ModelCleanSerializer
from registry.auth_models import ApiKey, Consumer, JwtIssuer


class ConsumerSerializer(ModelCleanSerializer):
    """A caller of routes; ``roles`` is comma-separated; ``user`` links an admin API user by username."""

    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Consumer
        fields = ("id", "name", "user", "roles", "enabled", "metadata", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")


class ApiKeySerializer(serializers.ModelSerializer):
    """An API key; ``key`` is only in the response to the POST that creates it."""

    consumer = serializers.SlugRelatedField(slug_field="name", queryset=Consumer.objects.all())
    key = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = (
            "id",
            "consumer",
            "prefix",
            "label",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "key",
        )
        read_only_fields = ("prefix", "created_at", "last_used_at", "revoked_at")

    def get_key(self, obj: ApiKey) -> str | None:
        return self.context.get("issued_key")


class RotateSerializer(serializers.Serializer[Any]):
    old_valid_until = serializers.DateTimeField(help_text="The old key keeps working until then.")
    label = serializers.CharField(required=False, allow_blank=True, max_length=100)  # type: ignore[assignment]


class JwtIssuerSerializer(ModelCleanSerializer):
    """A trusted token issuer; ``secret`` (HS256) is write-only."""

    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=512)

    class Meta:
        model = JwtIssuer
        fields = (
            "id",
            "name",
            "issuer",
            "audience",
            "algorithm",
            "secret",
            "public_key",
            "key_id",
            "jwks_url",
            "leeway",
            "roles_claim",
            "accepted_types",
            "allow_untyped",
            "enabled",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")
