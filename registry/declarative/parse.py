"""Read a ``gateway_apply`` YAML file into typed entries that remember their line numbers.

Only the file's shape is checked here: known keys, value types, required keys, and model defaults
for omitted keys. What the values mean (choices, ranges, paths, methods, uniqueness) is checked by
``registry.declarative.validate`` with the models' own validators. Each kind's keys are
``registry.layout.plain_fields``: the model's own fields and those of its feature sections.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import models

from registry import validators as v
from registry.declarative import kinds as k
from registry.declarative.entries import FORMAT_VERSION, Config, ConfigError, Entry, Problem
from registry.layout import plain_fields, section_of
from registry.models import Consumer, Route, Service, Target

_REQUIRED = {Service: ("name", "slug"), Target: ("host", "port"), Route: ("name", "path_prefix"), Consumer: ("name",)}
_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}


class _Mapping(dict[Any, Any]):
    """A YAML mapping that knows the line it starts on and the line of each of its keys."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class _LineLoader(yaml.SafeLoader):
    """``yaml.safe_load`` (no arbitrary tags), with line numbers and an error on duplicate keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[_Mapping]:
    data = _Mapping(node.start_mark.line + 1)
    yield data
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key_node.value)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml(text: str) -> Any:
    loader = _LineLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError([Problem(mark.line + 1 if mark else 1, f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(1, f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def parse_config(text: str) -> tuple[Config, list[Problem]]:
    """The file's entries, and the shape problems found; entries with problems list them in ``invalid``."""
    problems: list[Problem] = []
    try:
        data = load_yaml(text)
    except ConfigError as exc:
        return Config(services=()), exc.problems
    if not isinstance(data, _Mapping):
        problems.append(Problem(1, "the file must be a mapping with 'version: 1' and a 'services' list"))
        return Config(services=()), problems
    # Top-level "x-" keys are free, as in Compose files: a place for YAML anchors (&defaults).
    extensions = {key for key in data if isinstance(key, str) and key.startswith("x-")}
    sections = tuple(kind.key for kind in k.registered())
    _check_keys(data, "the file", ("version", "services", "consumers", *sections, *extensions), problems)
    if "version" not in data:
        problems.append(Problem(data.line, f"add 'version: {FORMAT_VERSION}' at the top of the file"))
    elif type(data["version"]) is not int or data["version"] != FORMAT_VERSION:
        problems.append(
            Problem(
                data.key_lines["version"],
                f"unsupported format version {data['version']!r}; this gateway reads version {FORMAT_VERSION}",
            )
        )
    if "services" not in data:
        problems.append(Problem(data.line, "add a 'services' list (an empty list disables everything)"))
        return Config(services=()), problems
    items = _list_of_mappings(data, "services", "the file", problems)
    services = tuple(_service(item, index, problems) for index, item in enumerate(items, start=1))
    consumers = tuple(
        _consumer(item, index, problems)
        for index, item in enumerate(_list_of_mappings(data, "consumers", "the file", problems), start=1)
    )
    extras = {kind.key: _kind_entries(kind, data, problems) for kind in k.registered() if kind.key in data}
    return Config(services, consumers, manages_consumers="consumers" in data, extras=extras), problems


def _kind_entries(kind: k.Kind, data: _Mapping, problems: list[Problem]) -> tuple[Entry, ...]:
    if kind.singleton:
        raw = data[kind.key]
        if raw is None:
            raw = _Mapping(data.key_lines[kind.key])
        if not isinstance(raw, _Mapping):
            line = data.key_lines[kind.key]
            problems.append(Problem(line, f"the file field '{kind.key}': expected a mapping, got {_describe(raw)}"))
            return ()
        return (_kind_entry(kind, raw, 1, problems),)
    items = _list_of_mappings(data, kind.key, "the file", problems)
    return tuple(_kind_entry(kind, item, index, problems) for index, item in enumerate(items, start=1))


def _kind_entry(kind: k.Kind, raw: _Mapping, index: int, problems: list[Problem]) -> Entry:
    shown = {name: raw.get(name) for name in kind.identity}
    plain = all(isinstance(value, (str, int, bool)) or value is None for value in shown.values())
    label = kind.label(shown) if plain and any(v is not None for v in shown.values()) else f"{kind.title} #{index}"
    _check_keys(raw, label, kind.keys, problems)
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for name in kind.fields:
        model_field = kind.model._meta.get_field(name)
        assert isinstance(model_field, models.Field)
        kind_of_value = _kind(model_field)
        if name not in raw:
            required = not (model_field.has_default() or model_field.blank or model_field.null)
            if required:
                problems.append(Problem(raw.line, f"{label} is missing the required key '{name}'"))
                invalid.add(name)
                values[name] = _placeholder(kind_of_value)
            else:
                values[name] = _plain(model_field.get_default())
            continue
        value, error = _typed(raw[name], kind_of_value, nullable=model_field.null)
        if error:
            problems.append(Problem(raw.key_lines[name], f"{label} field '{name}': {error}"))
            invalid.add(name)
            value = _placeholder(kind_of_value)
        values[name] = value
    for name, ref in kind.refs.items():
        relation = kind.model._meta.get_field(name)
        nullable = bool(getattr(relation, "null", False))
        if name not in raw:
            if ref.many or nullable:
                values[name] = () if ref.many else None
            else:
                problems.append(Problem(raw.line, f"{label} is missing the required key '{name}'"))
                invalid.add(name)
                values[name] = ""
            continue
        value, error = _typed(raw[name], list if ref.many else str, nullable=nullable and not ref.many)
        if error:
            problems.append(Problem(raw.key_lines[name], f"{label} field '{name}': {error}"))
            invalid.add(name)
            value = () if ref.many else ""
        values[name] = tuple(sorted(set(value))) if ref.many else value
    for env_key in kind.secrets.values():
        value, error = _typed(raw.get(env_key, ""), str, nullable=False)
        if error:
            problems.append(Problem(raw.key_lines[env_key], f"{label} field '{env_key}': {error}"))
            invalid.add(env_key)
            value = ""
        values[env_key] = value
    return Entry(kind.model, label, raw.line, raw.key_lines, frozenset(invalid), values)


def _consumer(raw: _Mapping, index: int, problems: list[Problem]) -> Entry:
    name = raw.get("name")
    label = f"consumer {name!r}" if isinstance(name, str) and name else f"consumer #{index}"
    values, invalid = _fields(raw, Consumer, (), label, problems)
    try:
        values["roles"] = ",".join(v.parse_roles(values["roles"]))  # the canonical form, as exported
    except ValidationError:
        pass  # reported by the model's validator in registry.declarative.validate
    return Entry(Consumer, label, raw.line, raw.key_lines, invalid, values)


def _service(raw: _Mapping, index: int, problems: list[Problem]) -> Entry:
    slug = raw.get("slug")
    label = f"service {slug!r}" if isinstance(slug, str) and slug else f"service #{index}"
    values, invalid = _fields(raw, Service, ("targets", "routes"), label, problems)
    targets = tuple(
        _target(item, n, label, problems)
        for n, item in enumerate(_list_of_mappings(raw, "targets", label, problems), start=1)
    )
    routes = tuple(
        _route(item, n, label, problems) for n, item in enumerate(_list_of_mappings(raw, "routes", label, problems), 1)
    )
    return Entry(Service, label, raw.line, raw.key_lines, invalid, values, targets=targets, routes=routes)


def _target(raw: _Mapping, index: int, service_label: str, problems: list[Problem]) -> Entry:
    host, port = raw.get("host"), raw.get("port")
    label = f"target #{index} of {service_label}"
    if isinstance(host, str) and type(port) is int:
        label = f"target {host}:{port} of {service_label}"
    values, invalid = _fields(raw, Target, (), label, problems)
    return Entry(Target, label, raw.line, raw.key_lines, invalid, values)


def _route(raw: _Mapping, index: int, service_label: str, problems: list[Problem]) -> Entry:
    name = raw.get("name")
    label = f"route {name!r}" if isinstance(name, str) and name else f"route #{index} of {service_label}"
    values, invalid = _fields(raw, Route, (), label, problems)
    values["host"] = values["host"].strip().lower()
    methods: tuple[str, ...] = values["methods"]
    try:
        # The canonical form Route.clean() stores, so that comparing with the database is exact.
        values["methods"] = v.parse_methods(",".join(methods))
    except ValidationError:
        pass  # reported by the model's validator in registry.declarative.validate
    return Entry(Route, label, raw.line, raw.key_lines, invalid, values)


def _fields(
    raw: _Mapping,
    model: type[models.Model],
    nested: tuple[str, ...],
    label: str,
    problems: list[Problem],
) -> tuple[dict[str, Any], frozenset[str]]:
    """Each field's value from ``raw`` or the model's default; fields with a problem get a placeholder."""
    names = plain_fields(model)
    _check_keys(raw, label, names + nested, problems)
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for name in names:
        model_field = field_of(model, name)
        kind = list if name == "methods" else _kind(model_field)
        if name not in raw:
            if name in _REQUIRED[model]:
                problems.append(Problem(raw.line, f"{label} is missing the required key '{name}'"))
                invalid.add(name)
                values[name] = _placeholder(kind)
            else:
                values[name] = () if kind is list else _plain(model_field.get_default())
            continue
        value, error = _typed(raw[name], kind, nullable=model_field.null)
        if error:
            problems.append(Problem(raw.key_lines[name], f"{label} field '{name}': {error}"))
            invalid.add(name)
            value = _placeholder(kind)
        values[name] = value
    return values, frozenset(invalid)


def field_of(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The model field of a key: the model's own, or that of a section attached to the model."""
    section = section_of(model, name)
    model_field = (section.model if section is not None else model)._meta.get_field(name)
    if not isinstance(model_field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a relation, not a field")
    return model_field


def _kind(model_field: models.Field[Any, Any]) -> type:
    if isinstance(model_field, models.BooleanField):
        return bool
    if isinstance(model_field, models.FloatField):
        return float
    if isinstance(model_field, models.IntegerField):
        return int
    return str


def _plain(value: Any) -> Any:
    # TextChoices defaults are enum members; keep plain str values in the entries.
    return str(value) if isinstance(value, str) else value


def _placeholder(kind: type) -> Any:
    return () if kind is list else kind()


def _typed(value: Any, kind: type, *, nullable: bool) -> tuple[Any, str | None]:
    """``(value, None)`` when ``value`` has the expected type (ints widen to floats), else an error."""
    if value is None:
        return (None, None) if nullable else (None, f"expected {_KIND_NAMES[kind]}, got {_describe(value)}")
    if kind is bool and isinstance(value, bool):
        return value, None
    if kind is str and isinstance(value, str):
        return value, None
    if kind is int and type(value) is int:
        return value, None
    if kind is float and type(value) in (int, float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            return None, f"expected a finite number, got {value!r}"
        return number, None
    if kind is list and isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            return None, "expected a list of strings, such as [GET, POST]"
        return tuple(value), None
    hint = " (quote it to make it a string)" if kind is str and not isinstance(value, (list, dict)) else ""
    return None, f"expected {_KIND_NAMES[kind]}, got {_describe(value)}{hint}"


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value) if isinstance(value, (int, float)) else f"{value} (a {type(value).__name__})"


def _check_keys(raw: _Mapping, label: str, known: tuple[str, ...], problems: list[Problem]) -> None:
    for key in raw:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        problems.append(Problem(raw.key_lines.get(key, raw.line), f"{label} has an unknown key {key!r}; {hint}"))


def _list_of_mappings(raw: _Mapping, key: str, label: str, problems: list[Problem]) -> list[_Mapping]:
    if key not in raw:
        return []
    value = raw[key]
    if value is None and key != "services":
        return []  # "routes:" with every item commented out
    if not isinstance(value, list):
        problems.append(Problem(raw.key_lines[key], f"{label} field '{key}': expected a list, got {_describe(value)}"))
        return []
    items = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, _Mapping):
            items.append(item)
        else:
            problems.append(
                Problem(raw.key_lines[key], f"{label} field '{key}': item #{index} is {_describe(item)}, not a mapping")
            )
    return items
