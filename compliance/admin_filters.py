"""Filters and the paginator of the audit search in the admin.

Each filter owns one parameter of ``compliance.search`` and filters through it, so the changelist and
its export select the same events. Counting is capped: a COUNT(*) over millions of events on every
page view is what makes audit screens unusable.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

from compliance import search
from compliance.models import AuditEvent

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP rows (SELECT COUNT(*) FROM (... LIMIT n)): pages past it are reached
    by narrowing the filters, and exports are not capped."""

    @cached_property
    def count(self) -> int:
        return int(self.object_list[:COUNT_CAP].count())  # type: ignore[attr-defined]


def _filtered(qs: QuerySet[AuditEvent], name: str, value: str | None) -> QuerySet[AuditEvent]:
    if not value:
        return qs
    try:
        return search.apply_filter(qs, name, value)
    except ValidationError as exc:
        raise IncorrectLookupParameters(exc) from exc


class TextFilter(admin.SimpleListFilter):
    """A free-text box in the filter sidebar; matched exactly (see compliance.search)."""

    template = "admin/compliance/text_filter.html"
    placeholder = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return _filtered(queryset, str(self.parameter_name), self.value())

    def choices(self, changelist: ChangeList) -> Iterator[Any]:  # the template's own keys
        name = str(self.parameter_name)
        yield {
            "name": name,
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "hidden": [(k, v) for k, v in changelist.params.items() if k not in (name, "p")],
            "clear_url": changelist.get_query_string(remove=[name]),
        }


def text_filter(name: str, title: str, placeholder: str = "") -> type[TextFilter]:
    attrs = {"parameter_name": name, "title": title, "placeholder": placeholder}
    return type(f"{name.title().replace('_', '')}Filter", (TextFilter,), attrs)


class ChoiceFilter(admin.SimpleListFilter):
    options: tuple[tuple[str, str], ...] = ()

    def lookups(self, request: HttpRequest, model_admin: Any) -> tuple[tuple[str, str], ...]:
        return self.options

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return _filtered(queryset, str(self.parameter_name), self.value())


def choice_filter(name: str, title: str, options: tuple[tuple[str, str], ...]) -> type[ChoiceFilter]:
    attrs = {"parameter_name": name, "title": title, "options": options}
    return type(f"{name.title().replace('_', '')}Filter", (ChoiceFilter,), attrs)


class TimeRangeFilter(admin.ListFilter):
    """From/to (inclusive) on the event time: ``at_from`` and ``at_to``, dates or ISO date-times."""

    title = "time range"
    template = "admin/compliance/range_filter.html"
    names = ("at_from", "at_to")

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        for name in self.names:
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return list(self.names)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        for name in self.names:
            value = self.used_parameters.get(name)
            queryset = _filtered(queryset, name, str(value) if value else None)
        return queryset

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        yield {
            "at_from": self.used_parameters.get("at_from", ""),
            "at_to": self.used_parameters.get("at_to", ""),
            "hidden": [(k, v) for k, v in changelist.params.items() if k not in (*self.names, "p")],
            "clear_url": changelist.get_query_string(remove=list(self.names)),
        }


YES_NO = (("1", "yes"), ("0", "no"))
AUDIT_FILTERS = (
    TimeRangeFilter,
    text_filter("request_id", "request id", "X-Request-ID"),
    text_filter("consumer", "consumer", "name or id"),
    text_filter("client_ip", "client IP"),
    text_filter("service", "service", "slug"),
    text_filter("route", "route", "name"),
    text_filter("status", "status", "e.g. 502"),
    choice_filter("status_class", "status class", tuple((c, c) for c in search.STATUS_CLASSES)),
    choice_filter("kind", "kind", tuple((str(k), str(label)) for k, label in AuditEvent.Kind.choices)),
    text_filter("action", "action", "prefix, e.g. gateway.route"),
    text_filter("actor", "actor", "username"),
    choice_filter("phi", "PHI route", YES_NO),
    choice_filter("erased", "erased (GDPR)", YES_NO),
)
