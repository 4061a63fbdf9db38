"""Admin API serializers: the models' own validators and ``clean()`` (``ModelCleanSerializer``)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from edge.models import ConsumerEdge, EdgeDefaults
from registry.api.serializers import ModelCleanSerializer
from registry.models import Consumer


class EdgeDefaultsSerializer(ModelCleanSerializer):
    """The edge settings of every route whose service and route inherit them."""

    # null until the defaults are first saved (the built-in ones are shown until then)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = EdgeDefaults
        exclude = ("id",)
        read_only_fields = ("updated_at",)


class ConsumerEdgeSerializer(ModelCleanSerializer):
    """A consumer's own IP lists and request headers, applied after authentication on every route."""

    consumer = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Consumer.objects.all(),
        # one row per consumer (its primary key): a second is a 409, never a database error
        validators=[UniqueValidator(ConsumerEdge.objects.all(), "This consumer has edge settings already.")],
    )

    class Meta:
        model = ConsumerEdge
        fields = (
            "consumer", "enabled", "ip_allow", "ip_deny", "request_headers_remove", "request_headers_set",
            "request_headers_add", "updated_at",
        )  # fmt: skip
        read_only_fields = ("updated_at",)
