"""``manage.py gateway_apply``: the database is made to match a YAML file, or nothing is written."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from registry.models import ConfigVersion, Route, Service, Target

pytestmark = pytest.mark.django_db

CONFIG = """\
version: 1
services:
  - name: Orders
    slug: orders
    targets:
      - host: 10.0.0.1
        port: 8080
      - host: 10.0.0.2
        port: 8080
        weight: 50
    routes:
      - name: orders
        path_prefix: /orders
        methods: [GET, POST]
      - name: orders-v2
        path_prefix: /orders
        api_version: v2
  - name: Billing
    slug: billing
    targets:
      - host: billing.internal
        port: 80
    routes:
      - name: billing
        path_prefix: /billing
"""


def apply(tmp_path: Path, text: str, *args: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    out = io.StringIO()
    call_command("gateway_apply", str(path), *args, stdout=out, stderr=io.StringIO(), no_color=True)
    return out.getvalue()


def apply_bad(tmp_path: Path, text: str, *args: str) -> list[str]:
    """Apply a file that must be refused; return the problem lines printed."""
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("gateway_apply", str(path), *args, stdout=io.StringIO(), stderr=err, no_color=True)
    return err.getvalue().splitlines()


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(textwrap.dedent(text).splitlines(), start=1) if needle in line]
    return lines[occurrence - 1]


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


def snapshot() -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    rows += Service.objects.order_by("pk").values_list("slug", "name", "enabled", "retries", "updated_at")
    rows += Target.objects.order_by("pk").values_list("host", "port", "weight", "enabled", "updated_at")
    rows += Route.objects.order_by("pk").values_list("name", "path_prefix", "priority", "enabled", "updated_at")
    return rows


def test_it_creates_services_targets_and_routes_from_an_empty_database(tmp_path: Path) -> None:
    out = apply(tmp_path, CONFIG)

    assert "+ service orders" in out
    assert "+ target orders/10.0.0.2:8080" in out
    assert "+ route orders-v2" in out
    orders = Service.objects.get(slug="orders")
    assert orders.name == "Orders"
    assert sorted((t.host, t.port, t.weight) for t in orders.targets.all()) == [
        ("10.0.0.1", 8080, 100),
        ("10.0.0.2", 8080, 50),
    ]
    route = Route.objects.get(name="orders")
    assert (route.service, route.path_prefix, route.methods) == (orders, "/orders", "GET,POST")
    assert Route.objects.get(name="orders-v2").api_version == "v2"
    assert Route.objects.get(name="billing").service.slug == "billing"


def test_omitted_fields_take_the_model_defaults(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)

    service = Service.objects.get(slug="billing")
    assert (service.protocol, service.base_path, service.description) == ("http", "", "")
    assert (service.connect_timeout, service.read_timeout, service.retries) == (5.0, 60.0, 1)
    assert (service.lb_algorithm, service.preserve_host, service.enabled) == ("round_robin", False, True)
    route = Route.objects.get(name="billing")
    assert (route.host, route.methods, route.strip_prefix, route.priority) == ("", "", True, 0)
    assert (route.version_source, route.max_body_bytes, route.enabled) == ("either", None, True)


def test_a_second_apply_reports_no_changes_and_bumps_no_version(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    before, rows = version(), snapshot()

    out = apply(tmp_path, CONFIG)

    assert "no changes" in out
    assert version() == before
    assert snapshot() == rows


def test_the_version_is_bumped_exactly_once_per_apply_that_changes_something(tmp_path: Path) -> None:
    start = version()
    apply(tmp_path, CONFIG)
    assert version() == start + 1

    apply(tmp_path, CONFIG.replace("weight: 50", "weight: 60").replace("/billing", "/bills"))
    assert version() == start + 2


def test_it_updates_changed_fields_and_says_which(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    changed = CONFIG.replace("        api_version: v2\n", "        api_version: v2\n        priority: 10\n")
    changed = changed.replace("weight: 50", "weight: 0")

    out = apply(tmp_path, changed)

    assert "~ route orders-v2: priority 0 -> 10" in out
    assert "~ target orders/10.0.0.2:8080: weight 50 -> 0" in out
    assert Route.objects.get(name="orders-v2").priority == 10
    assert Target.objects.get(host="10.0.0.2").weight == 0
    assert len(out.splitlines()) == 3  # two changes and the summary


def test_methods_are_stored_in_the_canonical_form(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG.replace("[GET, POST]", "[post, get, POST]"))

    assert Route.objects.get(name="orders").methods == "POST,GET"
    assert "no changes" in apply(tmp_path, CONFIG.replace("[GET, POST]", "[POST, GET]"))


def test_prune_disables_what_the_file_no_longer_lists_and_deletes_nothing(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    billing_at = CONFIG.index("  - name: Billing")
    smaller = CONFIG[:billing_at].replace("      - host: 10.0.0.2\n        port: 8080\n        weight: 50\n", "")
    smaller = smaller.replace("      - name: orders-v2\n        path_prefix: /orders\n        api_version: v2\n", "")

    out = apply(tmp_path, smaller)

    assert "- service billing (disabled)" in out
    assert "- target billing/billing.internal:80 (disabled)" in out
    assert "- target orders/10.0.0.2:8080 (disabled)" in out
    assert "- route orders-v2 (disabled)" in out
    assert "- route billing (disabled)" in out
    assert (Service.objects.count(), Target.objects.count(), Route.objects.count()) == (2, 3, 3)
    assert not Service.objects.get(slug="billing").enabled
    assert not Route.objects.get(name="orders-v2").enabled
    assert Route.objects.get(name="orders").enabled
    assert "no changes" in apply(tmp_path, smaller)


def test_no_prune_leaves_objects_missing_from_the_file_alone(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    only_orders = CONFIG[: CONFIG.index("  - name: Billing")]

    out = apply(tmp_path, only_orders, "--no-prune")

    assert "no changes" in out
    assert Service.objects.get(slug="billing").enabled
    assert Route.objects.get(name="billing").enabled


def test_a_file_may_disable_objects_explicitly(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)

    out = apply(
        tmp_path,
        CONFIG.replace("        path_prefix: /billing\n", "        path_prefix: /billing\n        enabled: false\n"),
    )

    assert "~ route billing: enabled true -> false" in out
    assert not Route.objects.get(name="billing").enabled


def test_a_dry_run_prints_the_changes_and_writes_nothing(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    before, rows = version(), snapshot()

    changed = CONFIG.replace("weight: 50", "weight: 70").replace(
        "name: Billing\n    slug: billing", "name: B\n    slug: bills"
    )

    out = apply(tmp_path, changed, "--dry-run")

    assert "~ target orders/10.0.0.2:8080: weight 50 -> 70" in out
    assert "+ service bills" in out
    assert "- service billing (disabled)" in out
    assert "nothing was written" in out
    assert version() == before
    assert snapshot() == rows


def test_it_names_the_line_of_a_bad_route(tmp_path: Path) -> None:
    bad = CONFIG.replace("[GET, POST]", "[GET, FETCH]")

    problems = apply_bad(tmp_path, bad)

    line = line_of(bad, "FETCH")
    assert problems == [
        f"{tmp_path / 'config.yaml'}:{line}: route 'orders' field 'methods': 'FETCH' is not a proxied method; "
        "use any of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (TRACE and CONNECT are refused)."
    ]


def test_it_reports_every_error_with_its_line_and_writes_nothing(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    before, rows = version(), snapshot()
    bad = (
        CONFIG.replace("weight: 50", "weight: 5000")
        .replace("port: 80\n", "port: '80'\n")
        .replace("slug: billing", "slug: billing\n    protocol: ftp\n    retries: 9")
        .replace("api_version: v2", "api_version: v2\n        enabled: true\n        priority: 10")
        .replace("[GET, POST]", "[GET, POST]\n        strip_prefix: false")
    )
    bad += "  - name: New\n    slug: new\n    base_path: v1\n"

    problems = apply_bad(tmp_path, bad)

    source = str(tmp_path / "config.yaml")
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"{source}:{line_of(bad, 'weight: 5000')}",
        f"{source}:{line_of(bad, 'protocol: ftp')}",
        f"{source}:{line_of(bad, 'retries: 9')}",
        f"{source}:{line_of(bad, 'port:', 3)}",
        f"{source}:{line_of(bad, 'base_path: v1')}",
    ]
    assert "field 'weight': Ensure this value is less than or equal to 1000." in problems[0]
    assert "field 'protocol': Value 'ftp' is not a valid choice. Use one of: http, https." in problems[1]
    assert "field 'port': expected a whole number, got the string '80'" in problems[3]
    assert "service 'new' field 'base_path'" in problems[4]
    assert version() == before
    assert snapshot() == rows


def test_it_rejects_an_unknown_key_and_suggests_the_right_one(tmp_path: Path) -> None:
    bad = CONFIG.replace("[GET, POST]", "[GET, POST]\n        strip_prefx: false")

    problems = apply_bad(tmp_path, bad)

    assert problems == [
        f"{tmp_path / 'config.yaml'}:{line_of(bad, 'strip_prefx')}: "
        "route 'orders' has an unknown key 'strip_prefx'; did you mean 'strip_prefix'?"
    ]
    assert not Service.objects.exists()


def test_it_rejects_unknown_keys_at_every_level(tmp_path: Path) -> None:
    bad = "version: 1\nservice: []\n"

    problems = apply_bad(tmp_path, bad)

    assert any(":2: the file has an unknown key 'service'; did you mean 'services'?" in p for p in problems)
    assert any(":1: add a 'services' list" in p for p in problems)


def test_it_rejects_duplicate_route_names_in_the_file(tmp_path: Path) -> None:
    bad = CONFIG.replace("      - name: billing\n", "      - name: orders\n")  # after orders and orders-v2

    problems = apply_bad(tmp_path, bad)

    assert problems == [
        f"{tmp_path / 'config.yaml'}:{line_of(bad, '- name: orders', 3)}: route 'orders': the name 'orders' "
        f"is also used on line {line_of(bad, '- name: orders')}; route names are unique across all services"
    ]


def test_it_rejects_duplicate_service_slugs_and_targets(tmp_path: Path) -> None:
    bad = CONFIG.replace("slug: billing", "slug: orders").replace("host: 10.0.0.2", "host: 10.0.0.1")

    problems = apply_bad(tmp_path, bad)

    assert len(problems) == 2
    assert "the host and port '10.0.0.1:8080' is also used" in problems[0]
    assert "service 'orders': the slug 'orders' is also used on line 4" in problems[1]


def test_it_rejects_a_route_under_a_reserved_path(tmp_path: Path) -> None:
    bad = CONFIG.replace("path_prefix: /billing", "path_prefix: /admin/billing")

    problems = apply_bad(tmp_path, bad)

    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'config.yaml'}:{line_of(bad, '/admin/billing')}: ")
    assert "route 'billing' field 'path_prefix': /admin/billing is served by the gateway itself" in problems[0]


def test_it_rejects_routes_that_would_tie(tmp_path: Path) -> None:
    bad = CONFIG.replace("path_prefix: /billing", "path_prefix: /orders\n        methods: [post]")

    problems = apply_bad(tmp_path, bad)

    assert len(problems) == 1
    assert (
        f":{line_of(bad, '- name: billing')}: route 'billing': route 'orders' (line 12) already matches" in problems[0]
    )


def test_a_route_may_take_the_place_of_one_that_prune_disables(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    renamed = CONFIG.replace("- name: billing", "- name: billing-2")

    problems = apply_bad(tmp_path, renamed, "--no-prune")
    out = apply(tmp_path, renamed)

    assert "route 'billing' (in the database, kept by --no-prune) already matches" in problems[0]
    assert "+ route billing-2" in out
    assert "- route billing (disabled)" in out


def test_a_service_name_held_by_a_service_outside_the_file_is_rejected(tmp_path: Path) -> None:
    Service.objects.create(name="Billing", slug="billing-old")

    problems = apply_bad(tmp_path, CONFIG)

    assert len(problems) == 1
    assert "service 'billing' field 'name': 'Billing' is the name of the service 'billing-old'" in problems[0]


def test_two_services_can_swap_names(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    swapped = CONFIG.replace("name: Orders", "name: TMP").replace("name: Billing", "name: Orders")
    swapped = swapped.replace("name: TMP", "name: Billing")

    out = apply(tmp_path, swapped)

    assert "~ service orders: name 'Orders' -> 'Billing'" in out
    assert Service.objects.get(slug="orders").name == "Billing"
    assert Service.objects.get(slug="billing").name == "Orders"


def test_a_route_listed_under_another_service_moves_there(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)
    moved = CONFIG.replace("      - name: billing\n        path_prefix: /billing\n", "")
    moved = moved.replace("    routes:\n", "    routes:\n      - name: billing\n        path_prefix: /billing\n", 1)

    out = apply(tmp_path, moved)

    assert "~ route billing: service 'billing' -> 'orders'" in out
    assert Route.objects.get(name="billing").service.slug == "orders"


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = version()
    save = Route.save

    def failing_save(self: Route, *args: Any, **kwargs: Any) -> None:
        if self.name == "billing":
            raise IntegrityError("simulated")
        save(self, *args, **kwargs)

    monkeypatch.setattr(Route, "save", failing_save)

    with pytest.raises(IntegrityError):
        apply(tmp_path, CONFIG)

    assert not Service.objects.exists()
    assert not Route.objects.exists()
    assert version() == before


def test_services_can_share_defaults_through_an_anchor_under_an_x_key(tmp_path: Path) -> None:
    text = """\
    version: 1
    x-defaults: &defaults
      retries: 3
      read_timeout: 10
    services:
      - <<: *defaults
        name: One
        slug: one
      - <<: *defaults
        name: Two
        slug: two
        retries: 0
    """

    apply(tmp_path, text)

    assert list(Service.objects.order_by("slug").values_list("slug", "retries", "read_timeout")) == [
        ("one", 3, 10.0),
        ("two", 0, 10.0),
    ]


def test_it_refuses_yaml_tags_that_build_objects(tmp_path: Path) -> None:
    problems = apply_bad(tmp_path, "version: 1\nservices:\n  - !!python/object/apply:os.system [echo hi]\n")

    assert len(problems) == 1
    assert ":3: not valid YAML: could not determine a constructor" in problems[0]


def test_it_refuses_duplicate_keys_in_a_mapping(tmp_path: Path) -> None:
    bad = CONFIG.replace("port: 80\n", "port: 80\n        port: 81\n")

    problems = apply_bad(tmp_path, bad)

    assert problems == [f"{tmp_path / 'config.yaml'}:{line_of(bad, 'port: 81')}: not valid YAML: duplicate key 'port'"]


def test_a_missing_services_list_is_an_error_not_a_prune_of_everything(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)

    missing = apply_bad(tmp_path, "version: 1\n")
    empty = apply_bad(tmp_path, "version: 1\nservices:\n")

    assert any("add a 'services' list" in p for p in missing)
    assert empty[0].endswith(":2: the file field 'services': expected a list, got nothing (null)")
    assert Service.objects.filter(enabled=True).count() == 2


def test_an_empty_services_list_disables_everything(tmp_path: Path) -> None:
    apply(tmp_path, CONFIG)

    apply(tmp_path, "version: 1\nservices: []\n")

    assert not Service.objects.filter(enabled=True).exists()
    assert not Route.objects.filter(enabled=True).exists()
    assert Route.objects.count() == 3


def test_it_reads_the_file_from_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(CONFIG))
    out = io.StringIO()

    call_command("gateway_apply", "-", stdout=out, no_color=True)

    assert "+ service orders" in out.getvalue()
    assert Service.objects.count() == 2


def test_the_demo_configuration_applies_cleanly(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[2] / "docs" / "demo.yaml"

    out = apply(tmp_path, demo.read_text())

    assert "+ route demo-v2" in out
    assert Target.objects.get(service__slug="demo").address == "127.0.0.1:8001"
    assert set(Route.objects.filter(service__slug="demo").values_list("api_version", flat=True)) == {"", "v2"}
    assert Route.objects.get(name="demo").websocket_settings.websocket  # the tour's WebSocket step needs nothing more


def test_the_complete_example_in_the_documentation_applies_cleanly(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]

    apply(tmp_path, example)

    assert Route.objects.get(name="orders-v2").methods == "GET,POST,PUT,DELETE"
    assert Service.objects.get(slug="orders").description == "Orders and carts. Owned by the shop team.\n"
    assert "no changes" in apply(tmp_path, example)
