"""The compliance officer's audit search: one set of named filters, shared by the admin changelist,
the streamed exports and the Celery export job, so an export holds exactly what the search showed.

Every filter uses an indexed column with an exact match or a range (no LIKE '%...%' over millions
of rows). Filters on a personal field also find events recorded with its pseudonym (client IPs may
be pseudonymised at record time), but never erased ones: an erasure cannot be undone by a search.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from compliance.models import AuditEvent
from compliance.pseudonyms import pseudonym
from registry.auth_models import Consumer

STATUS_CLASSES = {"1xx": 100, "2xx": 200, "3xx": 300, "4xx": 400, "5xx": 500}


def parse_moment(value: str, end: bool = False) -> datetime:
    """``2026-11-26``, ``2026-11-26T10:30`` or a full ISO time; naive times are UTC. A bare date as
    an upper bound means the end of that day."""
    value = value.strip()
    try:
        day = parse_date(value)  # a bare date first: fromisoformat would read it as midnight
        moment = datetime.combine(day, time.max if end else time.min) if day else parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError(f"{value!r} is not a date or a date and time (YYYY-MM-DD[THH:MM]).")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    # In UTC: Postgres takes no offset beyond 15:59, ISO 8601 allows up to 23:59. A time so near the
    # ends of the calendar that UTC leaves it (0001-01-01T00:30+01:00) means "since/until ever".
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def consumer_values(value: str) -> list[str]:
    """What the ``consumer`` column may hold for a consumer named or numbered ``value``."""
    value = value.strip()
    found = Consumer.objects.filter(Q(name=value) | Q(pk=int(value)) if value.isdigit() else Q(name=value)).first()
    return [str(found.pk)] if found is not None else [value]


def _personal(field: str, values: list[str]) -> Q:
    plain = Q(**{f"{field}__in": values})
    return plain | Q(**{f"{field}__in": [pseudonym(v) for v in values], "erased": False})


def _status(qs: QuerySet[AuditEvent], value: str) -> QuerySet[AuditEvent]:
    if not value.strip().isdigit():
        raise ValidationError(f"status must be a number, got {value!r}")
    return qs.filter(status=int(value))


def _status_class(qs: QuerySet[AuditEvent], value: str) -> QuerySet[AuditEvent]:
    if value not in STATUS_CLASSES:
        raise ValidationError(f"status class must be one of {', '.join(STATUS_CLASSES)}")
    low = STATUS_CLASSES[value]
    return qs.filter(status__gte=low, status__lt=low + 100)


def _day_range(qs: QuerySet[AuditEvent], params: Mapping[str, str]) -> QuerySet[AuditEvent]:
    """The admin's date hierarchy (at__year, at__month, at__day), as an index-friendly range."""
    try:
        year = int(params["at__year"])
        month = int(params.get("at__month") or 0)
        day = int(params.get("at__day") or 0)
        start = datetime(year, month or 1, day or 1)
    except (ValueError, OverflowError):
        raise ValidationError("bad date in the date hierarchy") from None
    if day:
        end = start + timedelta(days=1)
    elif month:
        end = datetime(year + (month == 12), month % 12 + 1, 1)
    else:
        end = datetime(year + 1, 1, 1)
    tz = timezone.get_default_timezone()
    return qs.filter(at__gte=timezone.make_aware(start, tz), at__lt=timezone.make_aware(end, tz))


FILTERS: dict[str, Callable[[QuerySet[AuditEvent], str], QuerySet[AuditEvent]]] = {
    "at_from": lambda qs, v: qs.filter(at__gte=parse_moment(v)),
    "at_to": lambda qs, v: qs.filter(at__lte=parse_moment(v, end=True)),
    "consumer": lambda qs, v: qs.filter(_personal("consumer", consumer_values(v))),
    "client_ip": lambda qs, v: qs.filter(_personal("client_ip", [v.strip()])),
    "actor": lambda qs, v: qs.filter(_personal("actor", [v.strip()])),
    "service": lambda qs, v: qs.filter(service=v.strip()),
    "route": lambda qs, v: qs.filter(route=v.strip()),
    "status": _status,
    "status_class": _status_class,
    "request_id": lambda qs, v: qs.filter(request_id=v.strip()),
    "kind": lambda qs, v: qs.filter(kind=v),
    "action": lambda qs, v: qs.filter(action__startswith=v.strip()),
    "phi": lambda qs, v: qs.filter(phi=v in ("1", "true", "yes")),
    "erased": lambda qs, v: qs.filter(erased=v in ("1", "true", "yes")),
    # The admin's search box: a request id or an event id, exactly.
    "q": lambda qs, v: qs.filter(Q(request_id=v.strip()) | Q(event_id=v.strip())) if v.strip() else qs,
}
DATE_HIERARCHY = ("at__year", "at__month", "at__day")
PARAMETERS = (*FILTERS, *DATE_HIERARCHY)


def apply_filter(qs: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
    return FILTERS[name](qs, value)


def clean_params(params: Mapping[str, str]) -> dict[str, str]:
    """The known, non-empty search parameters of a query string (pagination, ordering and the export
    format are not filters)."""
    return {k: str(v) for k, v in params.items() if k in PARAMETERS and str(v).strip()}


def search_events(params: Mapping[str, str]) -> QuerySet[AuditEvent]:
    """The events an officer's search selects, oldest first. Raises ValidationError on a bad value."""
    params = clean_params(params)
    qs = AuditEvent.objects.all()
    for name, value in params.items():
        if name in FILTERS:
            qs = apply_filter(qs, name, value)
    if "at__year" in params:
        qs = _day_range(qs, params)
    return qs.order_by("seq")
