"""Feature settings attached to a service, target or route: a feature app's fields, shown, validated
and stored with the object they configure, without registry knowing the feature.

A feature keeps such settings in a model of its own whose primary key is a one-to-one key to the
owner (``OneToOneField(Service, primary_key=True, related_name="breaker")``), and describes it with a
``Section`` passed to ``attach`` from its ``AppConfig.ready``. Then:

- the owner's admin page shows the section as a fieldset (``registry.admin.ConfigAdmin``);
- the owner's admin API object carries the fields flat beside its own (``registry.api.serializers``);
- the owner's YAML entry takes them as keys of the same names (``registry.declarative``);
- each of them validates with the section model's ``clean_fields()`` and ``clean()``, where
  ``row.<owner field>`` is the owner as it is being saved;
- an owner without a row has the model's defaults, and a row is only written once some value differs
  from them, so a section's defaults must mean "as if the feature were not there".

The feature's snapshot loader reads its own rows; saving or deleting one bumps the config version
(``registry.services.track_changes``, called by ``attach``).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models


@dataclass(frozen=True, eq=False)
class Section:
    model: type[models.Model]
    title: str
    layout: tuple[str | tuple[str, ...], ...]  # admin rows: a field, or fields on one line
    description: str = ""
    list_display: tuple[str, ...] = ()  # also shown in the owner's admin list
    list_filter: tuple[str, ...] = ()  # boolean fields the owner's admin list filters by
    # The first field turns the feature on (a checkbox, or a choice other than inherit/off): the
    # admin shows the section's other fields only once it is on.
    switch: bool = False
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        flat = tuple(name for row in self.layout for name in ((row,) if isinstance(row, str) else row))
        object.__setattr__(self, "fields", flat)

    @cached_property
    def owner_field(self) -> models.OneToOneField[Any, Any]:
        pk = self.model._meta.pk
        if not isinstance(pk, models.OneToOneField):
            raise TypeError(f"{self.model.__name__}'s primary key must be a one-to-one key to its owner")
        return pk

    @property
    def owner(self) -> type[models.Model]:
        return self.owner_field.related_model

    @property
    def related_name(self) -> str:
        return str(self.owner_field.remote_field.get_accessor_name())

    def form_field(self, name: str) -> models.Field[Any, Any]:
        found = self.model._meta.get_field(name)
        assert isinstance(found, models.Field)
        return found

    def defaults(self) -> dict[str, Any]:
        blank = self.model()
        return {name: plain(getattr(blank, name)) for name in self.fields}

    def row(self, owner: models.Model) -> models.Model:
        """The owner's saved row, or an unsaved one with the defaults."""
        if owner.pk is not None:
            try:
                found: models.Model = getattr(owner, self.related_name)
                return found
            except ObjectDoesNotExist:
                pass
        return self.model(**{self.owner_field.name: owner})

    def in_use(self, owner: models.Model) -> bool:
        """Whether the owner's row holds anything but the defaults (its admin fieldset starts open)."""
        return self.values(owner) != self.defaults()

    def values(self, owner: models.Model) -> dict[str, Any]:
        row = self.row(owner)
        return {name: plain(getattr(row, name)) for name in self.fields}

    def build(self, owner: models.Model, values: Mapping[str, Any]) -> models.Model:
        """The row as it would be saved with ``values`` (unsaved, for validation)."""
        row = copy.copy(self.row(owner))
        setattr(row, self.owner_field.name, owner)
        for name, value in values.items():
            setattr(row, name, value)
        return row

    def validate(self, row: models.Model) -> None:
        """``ValidationError`` by field name, as the owner's form or serializer reports it."""
        errors: dict[str, list[str]] = {}
        try:
            row.clean_fields(exclude=[self.owner_field.name])
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if not errors:
            try:
                row.clean()
            except ValidationError as exc:
                errors.update(exc.message_dict if hasattr(exc, "error_dict") else {self.fields[0]: exc.messages})
        if errors:
            raise ValidationError(errors)

    def store(self, row: models.Model) -> None:
        """Save ``row`` once its owner is saved, unless it is new and holds only the defaults."""
        owner = getattr(row, self.owner_field.name)
        setattr(row, self.owner_field.name, owner)  # the owner has its primary key now
        if row._state.adding and all(getattr(row, n) == v for n, v in self.defaults().items()):
            return
        row.save()


_sections: list[Section] = []


def attach(section: Section) -> None:
    from registry.services import track_changes

    if section not in _sections:
        _sections.append(section)
        track_changes(section.model)


def sections_of(owner: type[models.Model]) -> tuple[Section, ...]:
    return tuple(s for s in _sections if s.owner is owner)


def field_names(owner: type[models.Model]) -> tuple[str, ...]:
    return tuple(name for section in sections_of(owner) for name in section.fields)


def split(owner: type[models.Model], values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[Section, dict[str, Any]]]:
    """``values`` as the owner's own fields and each section's."""
    own = dict(values)
    by_section: dict[Section, dict[str, Any]] = {}
    for section in sections_of(owner):
        mine = {name: own.pop(name) for name in section.fields if name in own}
        if mine:
            by_section[section] = mine
    return own, by_section


M = TypeVar("M", bound=models.Model)


def save_with_sections(instance: M, values: Mapping[str, Any], *, clean: bool = True) -> M:
    """Set ``values`` (the owner's fields and any section's) and save the owner, then its rows.

    With ``clean`` the owner gets ``full_clean()`` and each row ``Section.validate`` first."""
    own, by_section = split(type(instance), values)
    for name, value in own.items():
        setattr(instance, name, value)
    rows = [(section, section.build(instance, mine)) for section, mine in by_section.items()]
    if clean:
        instance.full_clean()
        for section, row in rows:
            section.validate(row)
    if own or instance.pk is None:
        instance.save()
    for section, row in rows:
        section.store(row)
    return instance


def values_of(instance: models.Model, names: Iterable[str]) -> dict[str, Any]:
    """Current values of ``names``, from the owner or its sections' rows (defaults without a row)."""
    sections = {name: section for section in sections_of(type(instance)) for name in section.fields}
    rows: dict[Section, models.Model] = {}
    out = {}
    for name in names:
        section = sections.get(name)
        if section is None:
            out[name] = getattr(instance, name)
            continue
        if section not in rows:
            rows[section] = section.row(instance)
        out[name] = plain(getattr(rows[section], name))
    return out


def plain(value: Any) -> Any:
    """A choice default (an enum member of a model's choices) as its plain value."""
    return value.value if isinstance(value, enum.Enum) else value
