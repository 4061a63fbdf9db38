"""Serializers of the admin API: field validators from the models, then the model's own ``clean()``.

A model's fields come from ``registry.layout``; the fields of feature sections attached to it
(``registry.sections``) are carried flat beside them, validated by the section's model and saved in
its row.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils import html

from registry import layout
from registry import validators as v
from registry.api.fields import StrictModelSerializer, StrictSlugRelatedField
from registry.api.problems import CONFLICT, RULE
from registry.models import JwtIssuer, Route, Service, Target
from registry.sections import Section, sections_of


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


class ModelCleanSerializer(StrictModelSerializer):
    """Runs ``Model.clean()`` on the would-be instance and keeps the values it normalises; carries the
    fields of the model's sections."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for section in sections_of(self.Meta.model):
            for name, field in _section_fields(section).items():
                fields[name] = _reading_from(section, field)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A copy, so a request that fails validation never changes the instance the view holds.
        model: type[Model] = self.Meta.model
        instance = copy.copy(self.instance) if self.instance is not None else model()
        many = {f.name for f in model._meta.many_to_many}
        own = {name: value for name, value in attrs.items() if name not in _section_names(model)}
        for name, value in own.items():
            if name not in many:  # many-to-many values are set after the save, not on the instance
                setattr(instance, name, value)
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(rule_errors(exc)) from None
        errors: dict[str, Any] = {}
        cleaned = {name: attrs[name] if name in many else getattr(instance, name) for name in own}
        for section in sections_of(model):
            values = {name: attrs[name] for name in section.fields if name in attrs}
            row = section.build(instance, values)
            try:
                section.validate(row)
            except DjangoValidationError as exc:
                errors.update(rule_errors(exc))
            cleaned.update({name: getattr(row, name) for name in values})
        if errors:
            raise serializers.ValidationError(errors)
        return cleaned

    def create(self, validated_data: dict[str, Any]) -> Any:
        by_section = _pop_sections(self.Meta.model, validated_data)
        instance = super().create(validated_data)
        _store(instance, by_section)
        return instance

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        by_section = _pop_sections(self.Meta.model, validated_data)
        instance = super().update(instance, validated_data)
        _store(instance, by_section)
        return instance


def rule_errors(exc: DjangoValidationError) -> Any:
    """A model's ``clean()`` errors for the API: each message coded ``rule`` (a 422), unless the model
    coded it ``conflict`` (at odds with stored rows: a 409); see ``registry.api.problems``."""

    def coded(detail: Any) -> Any:
        if isinstance(detail, dict):
            return {key: coded(value) for key, value in detail.items()}
        if isinstance(detail, list):
            return [coded(item) for item in detail]
        return ErrorDetail(str(detail), code=CONFLICT if getattr(detail, "code", None) == CONFLICT else RULE)

    return coded(serializers.as_serializer_error(exc))


def _section_names(model: type[Model]) -> set[str]:
    return {name for section in sections_of(model) for name in section.fields}


def _section_fields(section: Section) -> dict[str, serializers.Field]:
    class Fields(StrictModelSerializer):
        class Meta:
            model = section.model
            fields = section.fields

    return dict(Fields().get_fields())


def _reading_from(section: Section, field: serializers.Field) -> serializers.Field:
    """Read the value from the owner's row (its defaults when it has none)."""
    field.get_attribute = lambda owner: getattr(section.row(owner), str(field.field_name))  # type: ignore[method-assign,assignment]
    return field


def _pop_sections(model: type[Model], data: dict[str, Any]) -> dict[Section, dict[str, Any]]:
    return {s: {n: data.pop(n) for n in s.fields if n in data} for s in sections_of(model)}


def _store(instance: Model, by_section: dict[Section, dict[str, Any]]) -> None:
    for section, values in by_section.items():
        if values:
            section.store(section.build(instance, values))


class ServiceSerializer(ModelCleanSerializer):
    """An upstream service; other resources refer to it by ``slug``."""

    class Meta:
        model = Service
        fields = ("id", *layout.own_fields(Service), "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")


class TargetSerializer(ModelCleanSerializer):
    """One address of a service; traffic is shared by ``weight``."""

    service = StrictSlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    address = serializers.CharField(read_only=True)

    class Meta:
        model = Target
        fields = ("id", *layout.own_fields(Target), "address", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")


class RouteSerializer(ModelCleanSerializer):
    """Which requests reach a service; an empty ``methods`` list allows every method."""

    service = StrictSlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    methods = MethodsField(required=False)
    jwt_issuers = StrictSlugRelatedField(slug_field="name", queryset=JwtIssuer.objects.all(), many=True, required=False)

    class Meta:
        model = Route
        fields = ("id", *layout.own_fields(Route), "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")
