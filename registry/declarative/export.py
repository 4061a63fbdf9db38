"""Write the database's services, targets and routes in the ``gateway_apply`` format.

Every field is written, disabled objects included (``enabled: false``), so applying the output
to the same database changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Prefetch, QuerySet

from registry import validators as v
from registry.declarative.entries import FORMAT_VERSION
from registry.declarative.kinds import Kind, registered, row_values, singleton_row, stored_rows
from registry.layout import plain_fields
from registry.models import Consumer, Route, Service, Target
from registry.sections import sections_of, values_of

HEADER = (
    "# Gateway configuration, written by `manage.py gateway_export`.\n"
    "# Apply with `manage.py gateway_apply FILE`; the format is described in docs/configuration.md.\n"
)


class _FlowList(list[str]):
    """Written on one line: ``methods: [GET, POST]``."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as the hand-written examples in docs/ do.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_flow_list(dumper: yaml.SafeDumper, value: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    # Names and methods on one line (``methods: [GET, POST]``); lists of entries as blocks.
    flow = all(isinstance(item, (str, int, float, bool)) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_FlowList, _represent_flow_list)


def export_config() -> str:
    return render(export_data())


def export_plain() -> dict[str, Any]:
    """``export_data()`` as JSON data (lists, not tuples): what a version's ``data`` holds."""
    return dict(json.loads(json.dumps(export_data(), cls=DjangoJSONEncoder)))


def render(data: dict[str, Any]) -> str:
    """``export_data()`` as the file's text."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return HEADER + body


def export_data() -> dict[str, Any]:
    """The configuration as plain data (what the file holds)."""
    services = (
        _with_sections(Service)
        .order_by("pk")
        .prefetch_related(
            Prefetch("targets", queryset=_with_sections(Target).order_by("pk")),
            Prefetch("routes", queryset=_with_sections(Route).order_by("pk")),
        )
    )
    data: dict[str, Any] = {"version": FORMAT_VERSION, "services": [_service(service) for service in services]}
    consumers = [_consumer(consumer) for consumer in Consumer.objects.order_by("pk")]
    if consumers:  # API keys are never exported: they are secrets, and only their hashes are stored
        data["consumers"] = consumers
    for kind in registered():
        data[kind.key] = _kind_rows(kind)
    return data


def _kind_rows(kind: Kind) -> Any:
    """A feature section's rows (its one row, for a singleton); secrets are never written."""
    if kind.singleton:
        return _flow(kind, row_values(kind, singleton_row(kind)))
    return [_flow(kind, row_values(kind, row)) for row in stored_rows(kind).values()]


def _flow(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    for name, ref in kind.refs.items():
        if ref.many:
            values[name] = _FlowList(values[name])
    first = {name: values.pop(name) for name in kind.identity}  # the row's name leads its entry
    return {**first, **values}


def _with_sections(model: type[Model]) -> QuerySet[Any]:
    """Each row with its sections' rows, read in the same query."""
    return model._default_manager.select_related(*(s.related_name for s in sections_of(model)))


def _service(service: Service) -> dict[str, Any]:
    data: dict[str, Any] = values_of(service, plain_fields(Service))
    data["targets"] = [values_of(target, plain_fields(Target)) for target in service.targets.all()]
    data["routes"] = [_route(route) for route in service.routes.all()]
    return data


def _consumer(consumer: Consumer) -> dict[str, Any]:
    data: dict[str, Any] = values_of(consumer, plain_fields(Consumer))
    try:
        data["roles"] = ",".join(v.parse_roles(consumer.roles))
    except ValidationError:
        pass  # written as stored, so that gateway_apply names the problem
    return data


def _route(route: Route) -> dict[str, Any]:
    data: dict[str, Any] = values_of(route, plain_fields(Route))
    try:
        data["methods"] = _FlowList(v.parse_methods(route.methods))
    except ValidationError:
        # Written as stored, so that gateway_apply names the problem instead of the export hiding it.
        data["methods"] = _FlowList(m for m in route.methods.split(",") if m)
    return data
