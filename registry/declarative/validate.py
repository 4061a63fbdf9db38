"""Check parsed ``gateway_apply`` entries with the models' own rules, before anything is written.

``validate_config`` needs only the file: each entry through its model's ``clean_fields()``
(field validators, choices, ranges, lengths) and its sections' rules, then uniqueness and route
clashes within the file.
``validate_against_database`` adds the rules that depend on rows the file does not mention.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model

from registry.declarative import kinds as k
from registry.declarative.entries import Config, Entry, Problem
from registry.declarative.parse import field_of
from registry.models import Consumer, Route, Service
from registry.sections import split
from registry.validators import methods_overlap, route_tie_key

_CLASH_FIELDS = frozenset({"path_prefix", "host", "api_version", "priority", "methods"})


def validate_config(config: Config) -> tuple[Config, list[Problem]]:
    """The problems in the file, and the config with each entry's ``invalid`` fields updated."""
    problems: list[Problem] = []
    services = []
    for service in config.services:
        checked = _checked(service, problems)
        targets = tuple(_checked(target, problems) for target in service.targets)
        routes = tuple(_checked(route, problems) for route in service.routes)
        services.append(replace(checked, targets=targets, routes=routes))
    consumers = tuple(_checked(consumer, problems) for consumer in config.consumers)
    config = Config(tuple(services), consumers, manages_consumers=config.manages_consumers, extras=config.extras)
    problems += _duplicates(config)
    problems += _kind_duplicates(config)
    problems += _clashes(all_routes(config), among_themselves=True)
    return config, problems


def validate_against_database(
    config: Config, services: Mapping[str, Service], routes: Mapping[str, Route], *, prune: bool
) -> list[Problem]:
    """Conflicts with rows that are not in the file (``services`` by slug, ``routes`` by name)."""
    problems: list[Problem] = []
    in_file = {service.slug for service in config.services}
    by_name = {service.name: service for service in services.values()}
    for service in config.services:
        holder = by_name.get(service.name)
        if "name" in service.invalid or holder is None or holder.slug in in_file:
            continue
        kept = "pruning disables it but it keeps its name" if prune else "it is kept because of --no-prune"
        problems.append(
            Problem(
                service.line_of("name"),
                f"{service.label} field 'name': {service.name!r} is the name of the service {holder.slug!r} "
                f"in the database, which is not in this file ({kept}); choose another name",
            )
        )
    if not prune:
        names = {route.name for route in all_routes(config)}
        kept_routes = [route for name, route in routes.items() if name not in names and route.enabled]
        problems += _clashes(all_routes(config), among_themselves=False, kept=kept_routes)
    return problems


def validate_kinds(config: Config, state: Mapping[str, Mapping[tuple[Any, ...], Model]]) -> list[Problem]:
    """Each feature section's entries with their models' rules, against the rows stored now
    (``state``: each kind's rows by identity) and the names the file and the database hold."""
    problems: list[Problem] = []
    known: dict[k.Ref, set[Any]] = {}
    for key, entries in config.extras.items():
        kind = k.kind_of(key)
        for ref in kind.refs.values():
            if ref not in known:
                known[ref] = _names(config, ref)
        for entry in entries:
            existing = state[key].get(kind.identity_of(entry.values)) if not kind.singleton else None
            problems += k.check_entry(kind, entry, existing, known)
    return problems


def _names(config: Config, ref: k.Ref) -> set[Any]:
    """The names a reference may use: those of the rows stored and of the file's entries."""
    names = set(ref.model._default_manager.values_list(ref.key, flat=True))
    if ref.model is Route:
        names |= {route.name for route in all_routes(config)}
    elif ref.model is Service:
        names |= {service.slug for service in config.services}
    elif ref.model is Consumer:
        names |= {consumer.name for consumer in config.consumers}
    else:
        for key, entries in config.extras.items():
            kind = k.kind_of(key)
            if kind.model is ref.model and kind.identity == (ref.key,):
                names |= {entry.values[ref.key] for entry in entries}
    return names


def _kind_duplicates(config: Config) -> list[Problem]:
    problems: list[Problem] = []
    for key, entries in config.extras.items():
        kind = k.kind_of(key)
        if kind.singleton:
            continue
        seen: dict[tuple[Any, ...], Entry] = {}
        for entry in entries:
            if entry.invalid.intersection(kind.identity):
                continue
            identity = kind.identity_of(entry.values)
            first = seen.setdefault(identity, entry)
            if first is not entry:
                where = first.line_of(kind.identity[0])
                what = " and ".join(kind.identity)
                message = f"{entry.label}: the same {what} is also used on line {where}; list each {kind.title} once"
                problems.append(Problem(entry.line_of(kind.identity[0]), message))
    return problems


def all_routes(config: Config) -> list[Entry]:
    return [route for service in config.services for route in service.routes]


def _checked(entry: Entry, problems: list[Problem]) -> Entry:
    """Run the model's ``clean_fields()`` on the entry's values, and its sections' checks, as the
    admin and the API do."""
    model = entry.model
    values = dict(entry.values)
    if "methods" in values:
        values["methods"] = ",".join(values["methods"])
    own, by_section = split(model, values)
    errors: dict[str, list[ValidationError]] = {}
    instance = model(**own)
    try:
        instance.clean_fields(exclude=[*entry.invalid, "service"])
        if isinstance(instance, Route):
            instance.clean_auth()
        if isinstance(instance, Service):
            instance.clean_tls()
    except ValidationError as exc:
        errors.update(exc.error_dict)
    for section, mine in by_section.items():
        if entry.invalid & mine.keys():
            continue
        try:
            section.validate(section.build(instance, mine))
        except ValidationError as exc:
            errors.update(exc.error_dict)
    if not errors:
        return entry
    for name, found in errors.items():
        for error in found:
            message = "; ".join(error.messages)
            if error.code == "invalid_choice":
                choices = [str(value) for value, _ in field_of(model, name).choices or []]
                message += f" Use one of: {', '.join(choices)}."
            problems.append(Problem(entry.line_of(name), f"{entry.label} field '{name}': {message}"))
    return replace(entry, invalid=entry.invalid | set(errors))


def _duplicates(config: Config) -> list[Problem]:
    problems: list[Problem] = []
    slugs: dict[str, Entry] = {}
    names: dict[str, Entry] = {}
    route_names: dict[str, Entry] = {}
    consumer_names: dict[str, Entry] = {}
    for consumer in config.consumers:
        _once(consumer, ("name",), consumer.name, consumer_names, "consumer names are unique", problems)
    for service in config.services:
        _once(service, ("slug",), service.slug, slugs, "slugs identify services", problems)
        _once(service, ("name",), service.name, names, "service names must be unique", problems)
        addresses: dict[str, Entry] = {}
        for target in service.targets:
            rule = "list each target of a service once"
            _once(target, ("host", "port"), target.address, addresses, rule, problems)
        for route in service.routes:
            rule = "route names are unique across all services"
            _once(route, ("name",), route.name, route_names, rule, problems)
    return problems


def _once(
    entry: Entry, fields: tuple[str, ...], value: str, seen: dict[str, Entry], rule: str, problems: list[Problem]
) -> None:
    if entry.invalid.intersection(fields):
        return
    first = seen.setdefault(value, entry)
    if first is not entry:
        what, where = " and ".join(fields), first.line_of(fields[0])
        message = f"{entry.label}: the {what} {value!r} is also used on line {where}; {rule}"
        problems.append(Problem(entry.line_of(fields[0]), message))


def _clashes(routes: Iterable[Entry], *, among_themselves: bool, kept: Sequence[Route] = ()) -> list[Problem]:
    """Enabled routes that tie on host, prefix, version and priority with overlapping methods.

    The rule of ``Route.clean()``, applied to the state the file leaves behind rather than to the
    rows as they are now (which the apply is about to change).
    """
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str, int], list[tuple[tuple[str, ...], str]]] = {}
    for row in kept:
        key = route_tie_key(row.path_prefix, row.host, row.api_version, row.priority)
        seen.setdefault(key, []).append((row.method_list, f"route {row.name!r} (in the database, kept by --no-prune)"))
    for route in routes:
        if not route.enabled or route.invalid & _CLASH_FIELDS:
            continue
        key = route_tie_key(route.path_prefix, route.host, route.api_version, route.priority)
        for methods, other in seen.get(key, []):
            if methods_overlap(methods, route.methods):
                problems.append(
                    Problem(
                        route.line,
                        f"{route.label}: {other} already matches the same host, prefix, version and priority "
                        "for some of these methods; change the priority or the methods so one route wins",
                    )
                )
                break
        if among_themselves:
            seen.setdefault(key, []).append((route.methods, f"route {route.name!r} (line {route.line})"))
    return problems
