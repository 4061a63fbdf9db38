"""Top-level sections of the declarative format that feature apps register: rate policies, JWT
issuers, channel rules, redaction and retention rules, the edge defaults...

A feature app describes the rows of one of its models with a ``Kind`` and passes it to ``register``
from its ``AppConfig.ready``. The file then takes a list under ``Kind.key`` (a mapping for a
``singleton``); each item's keys are the model's editable fields, its relations by the referenced
row's name (``Ref``) and, for secrets, the name of an environment variable that holds the value
(``secrets``: secrets are never exported). ``gateway_export`` writes every registered kind, and
``gateway_apply`` parses, validates (the model's ``clean_fields()`` and ``clean()``, plus the
kind's ``check``), plans and writes them after the services, targets, routes and consumers.

A file without a kind's key leaves that kind alone; with it, rows not in the file are disabled (or
deleted, for models without an ``enabled`` field) when pruning, as for services.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

from registry.declarative.entries import Entry, Problem

Values = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Ref:
    """A relation written as the referenced row's name: ``Ref(Route, "name")``."""

    model: type[models.Model]
    key: str  # the referenced model's field that names it in the file
    many: bool = False


@dataclass(frozen=True, eq=False)
class Kind:
    key: str  # the top-level key of the file, e.g. "rate_policies"
    model: type[models.Model]
    title: str  # how the diff names a row, e.g. "rate policy"
    identity: tuple[str, ...] = ()  # fields or refs naming a row; empty for a singleton
    refs: Mapping[str, Ref] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # model field -> key naming an environment variable
    singleton: bool = False
    # A rule between fields and relations the model's clean() cannot see: errors by key.
    check: Callable[[Values], dict[str, str]] | None = None
    exclude: tuple[str, ...] = ()  # editable fields the file does not carry
    # Rows the file is about (filter keywords); others are neither exported, changed nor pruned, such
    # as rows an app keeps from its own source (rate policies from the environment).
    where: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        return editable_fields(self.model, skip=(*self.refs, *self.secrets, *self.exclude))

    @property
    def keys(self) -> tuple[str, ...]:
        return (*self.fields, *self.refs, *self.secrets.values())

    def name_of(self, values: Values) -> str:
        """How a row is named in the diff, after the kind's title: its identity (nothing for a singleton)."""
        return " ".join(_shown(values.get(name)) for name in self.identity)

    def label(self, values: Values) -> str:
        return f"{self.title} {self.name_of(values)}".strip()

    def identity_of(self, values: Values) -> tuple[Any, ...]:
        return tuple(values.get(name) for name in self.identity)

    @property
    def prunes_by_disabling(self) -> bool:
        return any(f.name == "enabled" for f in self.model._meta.concrete_fields)


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def editable_fields(model: type[models.Model], skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    out = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.is_relation or not f.editable or f.name in skip:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            continue
        out.append(f.name)
    return tuple(out)


_kinds: list[Kind] = []


def register(kind: Kind) -> None:
    if all(existing.key != kind.key for existing in _kinds):
        _kinds.append(kind)


def registered() -> tuple[Kind, ...]:
    return tuple(_kinds)


def kind_of(key: str) -> Kind:
    return next(k for k in _kinds if k.key == key)


# --- Rows as the file sees them -----------------------------------------------------------------


def row_values(kind: Kind, row: models.Model) -> dict[str, Any]:
    """A stored row's values under the file's keys (relations by name, secrets left out)."""
    from registry.sections import plain

    values: dict[str, Any] = {name: plain(getattr(row, name)) for name in kind.fields}
    for name, ref in kind.refs.items():
        if ref.many:
            values[name] = tuple(sorted(getattr(related, ref.key) for related in getattr(row, name).all()))
        else:
            related = getattr(row, name)
            values[name] = getattr(related, ref.key) if related is not None else None
    return values


def stored_rows(kind: Kind) -> dict[tuple[Any, ...], models.Model]:
    single = [name for name, ref in kind.refs.items() if not ref.many]
    many = [name for name, ref in kind.refs.items() if ref.many]
    rows = kind.model._default_manager.filter(**kind.where)
    rows = rows.select_related(*single).prefetch_related(*many).order_by("pk")
    found: dict[tuple[Any, ...], models.Model] = {}
    for row in rows:
        found.setdefault(kind.identity_of(row_values(kind, row)), row)
    return found


def singleton_row(kind: Kind) -> models.Model:
    row = kind.model._default_manager.order_by("pk").first()
    return row if row is not None else kind.model()


def secret_value(kind: Kind, name: str, entry: Entry) -> str | None:
    """The secret the entry names through an environment variable, or None when it names none."""
    variable = entry.values.get(kind.secrets[name], "")
    if not variable:
        return None
    return os.environ.get(variable)


# --- Checks -------------------------------------------------------------------------------------


def check_entry(
    kind: Kind, entry: Entry, existing: models.Model | None, known: Mapping[Ref, set[Any]]
) -> list[Problem]:
    """The entry through the model's own rules, its kind's check and its references."""
    problems: list[Problem] = []
    errors: dict[str, list[str]] = {}
    instance = kind.model(**{name: entry.values[name] for name in kind.fields})
    for name, env_key in kind.secrets.items():
        variable = entry.values.get(env_key, "")
        if variable and variable not in os.environ:
            errors.setdefault(env_key, []).append(f"the environment variable {variable!r} is not set")
            continue
        value = secret_value(kind, name, entry)
        setattr(instance, name, value if value is not None else getattr(existing, name, ""))
    exclude = [*entry.invalid, *(f.name for f in kind.model._meta.concrete_fields if f.is_relation)]
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if not errors:
        try:
            instance.clean()
        except ValidationError as exc:
            for name, messages in (exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}).items():
                errors.setdefault(name if name != "__all__" else "", []).extend(messages)
        except (AttributeError, ObjectDoesNotExist):
            pass  # a clean() that reads the row's relations: checked by the references below
    if kind.check is not None and not errors:
        for name, message in kind.check(entry.values).items():
            errors.setdefault(name, []).append(message)
    for name, ref in kind.refs.items():
        if name in entry.invalid:
            continue
        value = entry.values[name]
        names = value if ref.many else (() if value is None else (value,))
        missing = [n for n in names if n not in known[ref]]
        if missing:
            what = ref.model._meta.verbose_name
            errors.setdefault(name, []).append(f"no {what} named {', '.join(repr(m) for m in missing)}")
    for name, messages in errors.items():
        where = f" field '{name}'" if name else ""
        for message in messages:
            problems.append(Problem(entry.line_of(name) if name else entry.line, f"{entry.label}{where}: {message}"))
    return problems
