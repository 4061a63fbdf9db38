"""Admin API serializers for consumers, API keys and JWT issuers. Keys are write-once: the full key
appears only in the response that creates it; secrets of issuers are never read back."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry import validators as v
from registry.api.fields import (
    StrictDateTimeField,
    StrictModelSerializer,
    StrictSerializer,
    StrictSlugRelatedField,
    strict,
)
from registry.api.serializers import ModelCleanSerializer
from registry.auth_models import ApiKey, Consumer, JwtIssuer

NO_NUL = "^[^\\u0000]*$"
_SCALAR: list[dict[str, Any]] = [
    {"type": "string", "pattern": NO_NUL},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "null"},
]
_VALUE = {"anyOf": [*_SCALAR, {"type": "array", "items": {"anyOf": _SCALAR}}]}


@extend_schema_field(
    {
        "type": "object",
        "propertyNames": {"pattern": NO_NUL},
        "additionalProperties": _VALUE,
        "description": "Free-form data: text, numbers, booleans, nulls, and lists of them.",
    }
)
class MetadataField(serializers.Field):
    """A consumer's metadata: a JSON object of text, numbers, booleans, nulls and lists of them,
    without NUL characters (which Postgres cannot store); what the schema says, exactly."""

    default_error_messages = {"invalid": "Use an object of text, numbers, booleans, nulls and lists of them."}

    def to_representation(self, value: Any) -> Any:
        return value

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict) or not all(_key(k) and _value(v, 1) for k, v in data.items()):
            self.fail("invalid")
        return data


def _key(key: Any) -> bool:
    return isinstance(key, str) and "\x00" not in key


def _value(value: Any, depth: int) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return "\x00" not in value
    if depth == 0:
        return False
    if isinstance(value, list):
        return all(_value(item, 0) for item in value)
    return False


class ConsumerSerializer(ModelCleanSerializer):
    """A caller of routes; ``roles`` is comma-separated; ``user`` links an admin API user by username."""

    user = StrictSlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    metadata = MetadataField(required=False)

    class Meta:
        model = Consumer
        fields = ("id", "name", "user", "roles", "enabled", "metadata", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")


class ApiKeySerializer(StrictModelSerializer):
    """An API key; ``key`` is only in the response to the POST that creates it."""

    consumer = StrictSlugRelatedField(slug_field="name", queryset=Consumer.objects.all())
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


class RotateSerializer(StrictSerializer):
    old_valid_until = StrictDateTimeField(help_text="The old key keeps working until then.")
    label = strict(serializers.CharField)(required=False, allow_blank=True, max_length=100, trim_whitespace=False)  # type: ignore[assignment]


# ASCII classes only: Python and ECMA-262 (the schema's reader) agree on them, not on \s.
JWKS_URL = rf"https?://{v.HOST}(?::[0-9]{{1,5}})?(?:/[^\x00-\x20?#]*)?(?:\?[^\x00-\x20#]*)?"
_JWKS_URL_RE = re.compile(rf"^{JWKS_URL}$")


@v.described({**v.pattern(rf"|{JWKS_URL}"), "maxLength": 200})
def validate_jwks_url(value: str) -> None:
    if value and not _JWKS_URL_RE.match(value):
        raise DjangoValidationError("An http(s):// URL of the issuer's JWKS document.")


class JwtIssuerSerializer(ModelCleanSerializer):
    """A trusted token issuer; ``secret`` (HS256) is write-only."""

    secret = strict(serializers.CharField)(
        write_only=True, required=False, allow_blank=True, max_length=512, trim_whitespace=False
    )
    jwks_url = strict(serializers.CharField)(
        required=False, allow_blank=True, max_length=200, trim_whitespace=False, validators=[validate_jwks_url]
    )

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
