"""The configuration as a whole over HTTP: its versions (snapshots, diffs, rollback), and export and
apply of the one file (``gateway_export``/``gateway_apply``, with the same validation and line-numbered
errors)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.actors import acting_as
from registry.api.fields import StrictSerializer, strict
from registry.api.problems import RULE
from registry.api.views import ModelPermissions
from registry.declarative import ConfigError, apply_config
from registry.declarative.compare import ABSENT, Difference, compare
from registry.declarative.export import export_config, export_plain
from registry.declarative.kinds import registered
from registry.models import ConfigRevision
from registry.revisions import roll_back


class RevisionSerializer(serializers.ModelSerializer[ConfigRevision]):
    class Meta:
        model = ConfigRevision
        fields = ["version", "created_at", "actor", "source", "summary", "reason", "rolled_back_to"]


class RevisionDetailSerializer(RevisionSerializer):
    snapshot = serializers.CharField(read_only=True, help_text="The configuration in the gateway_apply format.")

    class Meta(RevisionSerializer.Meta):
        fields = [*RevisionSerializer.Meta.fields, "snapshot"]


class DifferenceSerializer(serializers.Serializer[Difference]):
    object = serializers.CharField(source="what")
    field = serializers.CharField(help_text="Empty when the object is added or removed as a whole.")
    change = serializers.ChoiceField(choices=["added", "removed", "changed"], source="verb")
    old = serializers.JSONField(allow_null=True, help_text="Null when absent.")
    new = serializers.JSONField(allow_null=True, help_text="Null when absent.")

    def to_representation(self, instance: Difference) -> dict[str, Any]:
        data = super().to_representation(instance)
        for side in ("old", "new"):
            if getattr(instance, side) is ABSENT:
                data[side] = None
        return data


class DiffSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    against = serializers.IntegerField(allow_null=True, help_text="Null: the configuration as it is now.")
    differences = DifferenceSerializer(many=True)


REASON = r"^[^\u0000]*\S[^\u0000]*$"


class RollbackRequestSerializer(StrictSerializer):
    reason = strict(serializers.RegexField)(
        REASON, max_length=500, help_text="Why (not only spaces): kept with the new version and in the audit trail."
    )
    dry_run = serializers.BooleanField(default=False, help_text="Only list the changes.")


class RollbackSerializer(serializers.Serializer[Any]):
    rolled_back_to = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="The version the rollback made (null: none).")
    changes = serializers.ListField(child=serializers.CharField())


class CanRollBack(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm("registry.rollback_configrevision"))


class CanApply(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm("registry.apply_configrevision"))


AGAINST = OpenApiParameter(
    "against",
    {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
    description="The version to compare with; default: the configuration now.",
)


# The file's shape as far as a schema can say; everything else is checked as gateway_apply checks it (422).
def file_schema() -> dict[str, Any]:
    sections = {kind.key: {"type": "object" if kind.singleton else "array"} for kind in registered()}
    return {
        "type": "object",
        "required": ["version", "services"],
        "properties": {
            "version": {"type": "integer", "enum": [1]},
            "services": {"type": "array", "items": {"type": "object"}},
            "consumers": {"type": "array", "items": {"type": "object"}},
            **sections,
        },
        "patternProperties": {"^x-": {}},  # free keys for YAML anchors
        "additionalProperties": False,
    }


class ConfigVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ConfigRevision]):
    """Config versions: what each held (its snapshot), who made it, from where and what changed."""

    permission_classes = [permissions.IsAdminUser, ModelPermissions]
    queryset = ConfigRevision.objects.all()
    lookup_field = "version"
    lookup_value_regex = "[0-9]{1,18}"

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return RevisionDetailSerializer if self.action == "retrieve" else RevisionSerializer

    @extend_schema(parameters=[AGAINST], responses=DiffSerializer)
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, version: str | None = None) -> Response:
        """Field by field, from ``against`` (or the configuration now) to this version."""
        revision = self.get_object()
        raw = request.query_params.get("against")
        old: str | dict[str, Any]
        if raw is None:
            against, old = None, export_plain()
        else:
            if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
                raise serializers.ValidationError({"against": ["Give a version number."]})
            other = ConfigRevision.objects.filter(version=int(raw)).first()
            if other is None:
                raise exceptions.NotFound(f"No version {raw} is recorded.")
            against, old = other.version, other.data
        differences = compare(old, revision.data)
        body = {"version": revision.version, "against": against, "differences": differences}
        return Response(DiffSerializer(body).data)

    @extend_schema(request=RollbackRequestSerializer, responses=RollbackSerializer)
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser, CanRollBack])
    def rollback(self, request: Request, version: str | None = None) -> Response:
        """Apply this version's snapshot through the apply path, as a new version (422 when today's
        rules refuse it, with the reasons by line)."""
        revision = self.get_object()
        params = RollbackRequestSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        try:
            done = roll_back(
                revision,
                reason=params.validated_data["reason"],
                actor=request.user.get_username(),
                dry_run=params.validated_data["dry_run"],
            )
        except ConfigError as exc:
            raise serializers.ValidationError({"snapshot": exc.lines(f"v{revision.version}")}, code=RULE) from None
        body = {
            "rolled_back_to": revision.version,
            "version": done.revision.version if done.revision else None,
            "changes": [str(change) for change in done.changes],
        }
        return Response(RollbackSerializer(body).data)


class TextParser(BaseParser):
    """The body as text: the file in YAML, or the same structure in JSON (JSON is YAML)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return str(stream.read().decode("utf-8")) if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise serializers.ValidationError({"file": [f"Not UTF-8 text: {exc.reason}."]}) from None


class YamlParser(TextParser):
    media_type = "application/yaml"


class JsonTextParser(TextParser):
    media_type = "application/json"


class ApplyResultSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField()
    changes = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField(help_text="The config version after the apply.")


class ConfigExportView(APIView):
    """The whole configuration in the format ``gateway_apply`` reads (secrets never included)."""

    permission_classes = [permissions.IsAdminUser, ModelPermissions]
    queryset = ConfigRevision.objects.none()  # for ModelPermissions: view_configrevision

    @extend_schema(responses={(200, "application/yaml"): OpenApiResponse(OpenApiTypes.OBJECT)})
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(export_config(), content_type="application/yaml; charset=utf-8")


class ConfigApplyView(APIView):
    """Make the configuration match a file (YAML or JSON), as ``gateway_apply`` does; ``dry_run=1``
    only lists the changes. Errors name the lines of the body."""

    permission_classes = [permissions.IsAdminUser, CanApply]
    parser_classes = [YamlParser, JsonTextParser]

    @extend_schema(
        request={"application/yaml": file_schema(), "application/json": file_schema()},
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Only list the changes."),
            OpenApiParameter("prune", OpenApiTypes.BOOL, description="Disable what the file leaves out (default)."),
        ],
        responses=ApplyResultSerializer,
    )
    def post(self, request: Request) -> Response:
        flags = {name: _flag(request, name, default) for name, default in (("dry_run", False), ("prune", True))}
        text = request.data if isinstance(request.data, str) else ""
        try:
            with acting_as(request.user.get_username(), "api"):
                changes = apply_config(text, prune=flags["prune"], dry_run=flags["dry_run"])
        except ConfigError as exc:
            # Not a mapping at all: the body does not have the schema's form (400); else a rule (422).
            code = RULE if isinstance(_mapping(text, request.content_type), dict) else "invalid"
            raise serializers.ValidationError({"file": exc.lines("body")}, code=code) from None
        from registry.services import current_config_version

        body = {"dry_run": flags["dry_run"], "changes": [str(c) for c in changes], "version": current_config_version()}
        return Response(ApplyResultSerializer(body).data)


def _mapping(text: str, content_type: str) -> object:
    try:
        if "json" in content_type:
            return json.loads(text)
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, ValueError):
        return None


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw not in ("0", "1", "true", "false"):
        raise serializers.ValidationError({name: ["Use 1 or 0 (true or false)."]})
    return raw in ("1", "true")
