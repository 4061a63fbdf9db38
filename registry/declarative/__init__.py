"""Declarative configuration: make services, targets and routes match a YAML file.

``apply_config`` runs four steps:

    parse (.parse) -> validate (.validate) -> plan -> write

The checks against the database, the plan and the writes share one transaction. Nothing is
written unless every check passes, and the writes bump the config version once.
Services are identified by slug, targets by host and port within their service, routes and consumers by name
(consumers only when the file has a `consumers` key; their API keys are never part of the file).
Objects in the database but not in the file are disabled (never deleted) when pruning.
Each kind's keys are its model's fields and those of the feature sections attached to it
(``registry.layout.plain_fields``). The file format is described in docs/configuration.md;
``.export`` writes it.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model

from registry import validators as v
from registry.declarative import kinds as k
from registry.declarative.entries import Config, ConfigError, Entry
from registry.declarative.parse import parse_config
from registry.declarative.validate import all_routes, validate_against_database, validate_config, validate_kinds
from registry.layout import plain_fields
from registry.models import ConfigVersion, Consumer, Route, Service, Target
from registry.sections import save_with_sections, values_of
from registry.services import one_config_change

__all__ = ["Change", "ConfigError", "Verb", "apply_config"]

Row = Service | Target | Route | Consumer


class Verb(enum.Enum):
    CREATE = "+"
    UPDATE = "~"
    DISABLE = "-"
    DELETE = "x"  # rows of a feature section whose model has no 'enabled' field


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Change:
    verb: Verb
    kind: str  # "service", "target", "route", "consumer", or a feature section's title ("rate policy")
    label: str
    fields: tuple[FieldChange, ...] = ()
    spec: Entry | None = None  # what to write, for CREATE
    instance: Model | None = None  # the row to change, for UPDATE, DISABLE and DELETE
    service_slug: str = ""  # the owning service in the file, for targets and routes
    section: str = ""  # the feature section's key (registry.declarative.kinds), for its rows

    def __str__(self) -> str:
        what = f"{self.kind} {self.label}".strip()
        if self.verb is Verb.CREATE:
            return f"+ {what}"
        if self.verb is Verb.DISABLE:
            return f"- {what} (disabled)"
        if self.verb is Verb.DELETE:
            return f"- {what} (deleted)"
        details = ", ".join(f"{f.name} {_show(f.old)} -> {_show(f.new)}" for f in self.fields)
        return f"~ {what}: {details}"


@dataclass(frozen=True, slots=True)
class State:
    """The rows the plan is made against, loaded once inside the apply's transaction."""

    services: dict[str, Service]  # by slug
    targets: dict[tuple[str, str, int], Target]  # by (service slug, host, port)
    routes: dict[str, Route]  # by name
    consumers: dict[str, Consumer]  # by name
    # Each feature section's rows by identity (a singleton's one row under ()), for the sections the file has.
    extras: dict[str, dict[tuple[Any, ...], Model]] = field(default_factory=dict)


def apply_config(text: str, *, prune: bool = True, dry_run: bool = False) -> list[Change]:
    """Make the database match ``text``; return the changes (made, or that would be made on a dry run).

    Raises ``ConfigError`` with every problem found, having written nothing.
    """
    config, problems = parse_config(text)
    config, file_problems = validate_config(config)
    problems += file_problems
    with transaction.atomic():
        if not dry_run:
            # Serialises concurrent applies on Postgres: each one plans against the state it writes over.
            ConfigVersion.objects.select_for_update().filter(pk=1).first()
        state = load_state(config)
        problems += validate_against_database(config, state.services, state.routes, prune=prune)
        problems += validate_kinds(config, state.extras)
        if problems:
            raise ConfigError(problems)
        changes = plan_changes(config, state, prune=prune)
        if changes and not dry_run:
            with one_config_change():
                write_changes(changes, state)
    return changes


def load_state(config: Config) -> State:
    extras: dict[str, dict[tuple[Any, ...], Model]] = {}
    for key in config.extras:
        kind = k.kind_of(key)
        extras[key] = {(): k.singleton_row(kind)} if kind.singleton else k.stored_rows(kind)
    return State(
        extras=extras,
        services={s.slug: s for s in Service.objects.order_by("pk")},
        targets={(t.service.slug, t.host, t.port): t for t in Target.objects.select_related("service").order_by("pk")},
        routes={r.name: r for r in Route.objects.select_related("service").order_by("pk")},
        consumers={c.name: c for c in Consumer.objects.order_by("pk")},
    )


# --- Plan ---------------------------------------------------------------------------------------


def plan_changes(config: Config, state: State, *, prune: bool) -> list[Change]:
    """What to write, in display order: each service with its targets and routes, then what is pruned."""
    changes: list[Change] = []
    for service in config.services:
        slug = service.slug
        changes += _diff("service", slug, service, state.services.get(slug), "")
        for target in service.targets:
            row = state.targets.get((slug, target.host, target.port))
            changes += _diff("target", f"{slug}/{target.address}", target, row, slug)
        for route in service.routes:
            changes += _diff("route", route.name, route, state.routes.get(route.name), slug)
    for consumer in config.consumers:
        changes += _diff("consumer", consumer.name, consumer, state.consumers.get(consumer.name), "")
    for key, entries in config.extras.items():
        changes += _plan_kind(k.kind_of(key), entries, state.extras[key], prune=prune)
    if not prune:
        return changes
    if config.manages_consumers:
        listed = {consumer.name for consumer in config.consumers}
        for name, consumer_row in state.consumers.items():
            if name not in listed and consumer_row.enabled:
                changes.append(Change(Verb.DISABLE, "consumer", name, instance=consumer_row))
    slugs = {service.slug for service in config.services}
    addresses = {(service.slug, t.host, t.port) for service in config.services for t in service.targets}
    names = {route.name for route in all_routes(config)}
    for slug, service_row in state.services.items():
        if slug not in slugs and service_row.enabled:
            changes.append(Change(Verb.DISABLE, "service", slug, instance=service_row))
    for address, target_row in state.targets.items():
        if address not in addresses and target_row.enabled:
            label = f"{address[0]}/{target_row.address}"
            changes.append(Change(Verb.DISABLE, "target", label, instance=target_row))
    for name, route_row in state.routes.items():
        if name not in names and route_row.enabled:
            changes.append(Change(Verb.DISABLE, "route", name, instance=route_row))
    return changes


def _diff(kind: str, label: str, spec: Entry, row: Row | None, service_slug: str) -> list[Change]:
    if row is None:
        return [Change(Verb.CREATE, kind, label, spec=spec, service_slug=service_slug)]
    fields = []
    if isinstance(row, Route) and row.service.slug != service_slug:
        fields.append(FieldChange("service", row.service.slug, service_slug))
    current = values_of(row, plain_fields(spec.model))
    for name, old in current.items():
        new = spec.values[name]
        if name == "methods":
            old = tuple(m for m in old.split(",") if m)
        elif name == "roles":
            old = _canonical_roles(old)
        if old != new:
            fields.append(FieldChange(name, old, new))
    if not fields:
        return []
    return [Change(Verb.UPDATE, kind, label, fields=tuple(fields), instance=row, service_slug=service_slug)]


def _plan_kind(
    kind: k.Kind, entries: tuple[Entry, ...], rows: dict[tuple[Any, ...], Model], *, prune: bool
) -> list[Change]:
    changes: list[Change] = []
    listed = set()
    for entry in entries:
        identity = () if kind.singleton else kind.identity_of(entry.values)
        listed.add(identity)
        row = rows.get(identity)
        label = kind.name_of(entry.values)
        if row is None:
            changes.append(Change(Verb.CREATE, kind.title, label, spec=entry, section=kind.key))
            continue
        current = k.row_values(kind, row)
        fields = [
            FieldChange(name, current[name], entry.values[name])
            for name in (*kind.fields, *kind.refs)
            if current[name] != entry.values[name]
        ]
        for name in kind.secrets:
            secret = k.secret_value(kind, name, entry)
            if secret is not None and secret != getattr(row, name):
                fields.append(FieldChange(name, "(hidden)", "(changed)"))
        if fields:
            changes.append(
                Change(Verb.UPDATE, kind.title, label, fields=tuple(fields), spec=entry, instance=row, section=kind.key)
            )
    if prune and not kind.singleton:
        for identity, row in rows.items():
            if identity in listed:
                continue
            label = kind.name_of(dict(zip(kind.identity, identity, strict=True)))
            if not kind.prunes_by_disabling:
                changes.append(Change(Verb.DELETE, kind.title, label, instance=row, section=kind.key))
            elif getattr(row, "enabled", False):
                changes.append(Change(Verb.DISABLE, kind.title, label, instance=row, section=kind.key))
    return changes


def _canonical_roles(value: str) -> str:
    try:
        return ",".join(v.parse_roles(value))
    except ValidationError:
        return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, tuple):
        return f"[{', '.join(value)}]"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return str(value)


# --- Write --------------------------------------------------------------------------------------


def write_changes(changes: list[Change], state: State) -> None:
    """Write the plan: services first, so that new targets and routes (and moved routes) find theirs."""
    services = dict(state.services)
    for change in changes:
        if change.kind == "service" and any(f.name == "name" for f in change.fields):
            # Renamed services pass through a unique name first, so two services can swap names.
            assert change.instance is not None
            Service.objects.filter(pk=change.instance.pk).update(name=f"~renaming~{uuid.uuid4().hex}")
    for kind in ("service", "target", "route", "consumer"):
        for change in changes:
            if change.kind == kind and not change.section:
                _write(change, services)
    for section in k.registered():
        for change in changes:
            if change.section == section.key:
                _write_kind(section, change)


def _write_kind(kind: k.Kind, change: Change) -> None:
    row = change.instance
    if change.verb is Verb.DELETE:
        assert row is not None
        row.delete()
        return
    if change.verb is Verb.DISABLE:
        assert row is not None
        row.enabled = False  # type: ignore[attr-defined]
        row.save()
        return
    assert change.spec is not None
    values = change.spec.values
    if row is None:
        row = kind.model()
        names: tuple[str, ...] = (*kind.fields, *kind.refs)
    else:
        names = tuple(f.name for f in change.fields if f.name in values)
    many = {}
    for name in names:
        ref = kind.refs.get(name)
        if ref is None:
            setattr(row, name, values[name])
        elif ref.many:
            many[name] = ref
        else:
            target = values[name]
            setattr(row, name, None if target is None else ref.model._default_manager.get(**{ref.key: target}))
    for name in kind.secrets:
        secret = k.secret_value(kind, name, change.spec)
        if secret is not None:
            setattr(row, name, secret)
    row.save()
    for name, ref in many.items():
        getattr(row, name).set(ref.model._default_manager.filter(**{f"{ref.key}__in": values[name]}))


def _write(change: Change, services: dict[str, Service]) -> None:
    if change.verb is Verb.DISABLE:
        assert isinstance(change.instance, (Service, Target, Route, Consumer))
        change.instance.enabled = False
        change.instance.save(update_fields=["enabled", "updated_at"])
    elif change.verb is Verb.UPDATE:
        assert change.instance is not None
        values = {field.name: _stored(field.name, field.new, services) for field in change.fields}
        save_with_sections(change.instance, values, clean=False)
    else:
        assert change.spec is not None
        model = change.spec.model
        values = {name: _stored(name, value, services) for name, value in change.spec.values.items()}
        if model in (Target, Route):
            values["service"] = services[change.service_slug]
        instance = save_with_sections(model(), values, clean=False)
        if isinstance(instance, Service):
            services[instance.slug] = instance


def _stored(name: str, value: Any, services: dict[str, Service]) -> Any:
    if name == "service":
        return services[value]
    if name == "methods":
        return ",".join(value)
    return value
