from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cache.models import CachePurge
from registry.api.problems import RULE
from registry.models import Route


class CachePurgeSerializer(serializers.ModelSerializer):
    """A purge: ``kind`` route (with ``route``), prefix (``prefix``, and ``route`` to limit it to one)
    or tag (``tag``). ``removed``: entries deleted from Redis (null with the in-memory store)."""

    route = serializers.SlugRelatedField(
        slug_field="name", queryset=Route.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = CachePurge
        fields = ("id", "at", "kind", "route", "route_name", "prefix", "tag", "reason", "removed")
        read_only_fields = ("at", "route_name", "reason", "removed")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind, route = attrs.get("kind"), attrs.get("route")
        if kind == CachePurge.Kind.ROUTE and route is None:
            raise serializers.ValidationError({"route": ["Name the route to purge."]}, code=RULE)
        if kind == CachePurge.Kind.PREFIX and not attrs.get("prefix"):
            raise serializers.ValidationError(
                {"prefix": ["Give the path prefix to purge, e.g. /products/."]}, code=RULE
            )
        if kind == CachePurge.Kind.TAG and not attrs.get("tag"):
            raise serializers.ValidationError({"tag": ["Give the tag to purge."]}, code=RULE)
        return attrs
