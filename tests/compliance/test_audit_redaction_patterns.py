"""Officers' pattern rules for path segments and query values, and the default PHI rule set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from compliance import records
from compliance.compile import load_audit
from compliance.models import RedactionRule
from compliance.policies import AuditPolicy
from compliance.redaction import REDACTED, compile_rules
from proxy.specs import Snapshot
from tests.compliance.test_audit_redaction import SERVICE, finished, route

PHI_ROUTE = route(id=9, name="charts")
PLAIN_ROUTE = route(id=1)
DYNAMIC = route(id=0, name="dynamic:orders", prefix="/api/v1/orders", auth=None)


@pytest.fixture(autouse=True)
def phi_settings() -> Iterator[None]:
    records.set_current(records.AuditSettings(rules=compile_rules([]), phi=frozenset({9}), phi_services=frozenset()))
    yield
    records.set_current(records.AuditSettings())


def with_rules(*rows: tuple[str, str, bool], phi_defaults: bool = True) -> None:
    current = records.current()
    records.set_current(
        records.AuditSettings(
            rules=compile_rules(rows, phi_defaults=phi_defaults), phi=current.phi, phi_services=current.phi_services
        )
    )


PHI_SAMPLES = [
    ("/patients/123-45-6789/chart", b"", "/patients/[REDACTED]/chart", ""),
    ("/patients/1/chart", b"ssn=123%2D45%2D6789&page=2", "/patients/1/chart", "ssn=[REDACTED]&page=2"),
    ("/patients/1/chart", b"dob=1980-01-31", "/patients/1/chart", "dob=[REDACTED]"),
    ("/patients/by-dob/01%2F31%2F1980", b"", "/patients/by-dob/[REDACTED]", ""),
    ("/patients/1", b"born=31.01.1980&x=1", "/patients/1", "born=[REDACTED]&x=1"),
    ("/patients/jane.doe%40example.com", b"", "/patients/[REDACTED]", ""),
    ("/patients/1", b"contact=jane.doe+x@example.org", "/patients/1", "contact=[REDACTED]"),
]


@pytest.mark.parametrize("path, query, kept_path, kept_query", PHI_SAMPLES)
def test_phi_routes_redact_ssns_dates_and_emails_by_default(
    path: str, query: bytes, kept_path: str, kept_query: str
) -> None:
    rec = records.record_of(finished(path=path, query=query, route=PHI_ROUTE))

    assert (rec["path"], rec["query"], rec["phi"]) == (kept_path, kept_query, True)


@pytest.mark.parametrize("path, query, kept_path, kept_query", PHI_SAMPLES)
def test_other_routes_keep_them_unless_a_rule_says_so(path: str, query: bytes, kept_path: str, kept_query: str) -> None:
    rec = records.record_of(finished(path=path, query=query, route=PLAIN_ROUTE))

    assert (rec["path"], rec["query"]) == (path, query.decode())


def test_the_default_phi_rules_can_be_turned_off() -> None:
    with_rules(phi_defaults=False)

    rec = records.record_of(finished(path="/patients/123-45-6789", query=b"dob=1980-01-31", route=PHI_ROUTE))

    assert (rec["path"], rec["query"]) == ("/patients/123-45-6789", "dob=1980-01-31")


def test_an_officers_pattern_rules_apply_to_segments_and_values_of_every_route() -> None:
    with_rules(("path_segment", r"^MRN\d+$", False), ("query_value", r"(?i)^p-\d{4}$", False))

    rec = records.record_of(finished(path="/charts/MRN0042/notes", query=b"patient=P-1234&page=2", route=PLAIN_ROUTE))

    assert rec["path"] == f"/charts/{REDACTED}/notes"
    assert rec["query"] == f"patient={REDACTED}&page=2"


def test_a_phi_only_rule_leaves_other_routes_alone() -> None:
    with_rules(("path_segment", r"^MRN\d+$", True))

    assert records.record_of(finished(path="/c/MRN0042", route=PLAIN_ROUTE))["path"] == "/c/MRN0042"
    assert records.record_of(finished(path="/c/MRN0042", route=PHI_ROUTE))["path"] == f"/c/{REDACTED}"


def test_the_dynamic_route_of_a_service_with_a_phi_route_is_phi() -> None:
    records.set_current(
        records.AuditSettings(rules=compile_rules([]), phi=frozenset({9}), phi_services=frozenset({SERVICE.id}))
    )
    settings = records.current()

    rec = records.record_of(finished(path="/api/v1/orders/patients/123-45-6789", route=DYNAMIC))

    assert rec["phi"] and rec["path"] == f"/api/v1/orders/patients/{REDACTED}"
    snapshot = Snapshot(1, (SERVICE,), (PHI_ROUTE,), extensions={"compliance": settings})
    assert AuditPolicy.for_route(DYNAMIC, snapshot) is not None
    assert AuditPolicy.for_route(PLAIN_ROUTE, snapshot) is None


@pytest.mark.django_db
@override_settings(GATEWAY_AUDIT_PHI_DEFAULT_RULES=True)
def test_pattern_rules_are_loaded_with_their_scope_from_the_database() -> None:
    RedactionRule.objects.create(kind="path_segment", name=r"^MRN\d+$", phi_only=True)
    RedactionRule.objects.create(kind="query_value", name=r"^P-\d+$")
    RedactionRule.objects.create(kind="query_value", name=r"^off$", enabled=False)

    loaded = load_audit(Snapshot(version=1, services=(), routes=()))

    assert [p.pattern for p in loaded.rules.values] == [r"^P-\d+$"]
    assert r"^MRN\d+$" in [p.pattern for p in loaded.rules.phi_segments]
    assert not loaded.rules.segments


@pytest.mark.parametrize("pattern", ["(", "[a-", ".*", "x?"])
def test_a_pattern_that_does_not_compile_or_matches_everything_is_refused(pattern: str) -> None:
    with pytest.raises(ValidationError):
        RedactionRule(kind="path_segment", name=pattern).clean()
