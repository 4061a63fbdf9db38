"""Channel permission rules: patterns, roles, the compiled table, and the config version."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from realtime.compile import NAME, load_realtime
from realtime.models import Channel
from registry.services import current_config_version
from registry.snapshot import build_table, load_snapshot


def rule(pattern: str, roles: str = "") -> Channel:
    channel = Channel(pattern=pattern, roles=roles)
    channel.full_clean()
    channel.save()
    return channel


@pytest.mark.django_db
def test_a_channel_is_allowed_by_a_matching_pattern_and_one_of_its_roles() -> None:
    rule("orders.*", "orders:read, admin")
    rule("news")
    Channel.objects.create(pattern="off.*", enabled=False)

    config = load_realtime(load_snapshot())

    assert config.may_subscribe("orders.42", frozenset({"orders:read"}))
    assert config.may_subscribe("orders.42.lines", frozenset({"admin"}))
    assert not config.may_subscribe("orders.42", frozenset({"other"}))
    assert not config.may_subscribe("ordersx", frozenset({"orders:read"}))
    assert config.may_subscribe("news", frozenset())
    assert not config.may_subscribe("news.eu", frozenset())
    assert not config.may_subscribe("off.x", frozenset({"orders:read"}))


@pytest.mark.django_db
def test_a_malformed_pattern_is_refused() -> None:
    with pytest.raises(ValidationError):
        rule("orders/*")
    with pytest.raises(ValidationError):
        rule("a b")


@pytest.mark.django_db(transaction=True)
def test_saving_a_rule_bumps_the_config_version_and_the_table_carries_the_rules() -> None:
    before = current_config_version()
    rule("prices.*")

    assert current_config_version() > before
    table = build_table()
    assert [r.pattern for r in table.extensions[NAME].rules] == ["prices.*"]


@pytest.mark.django_db
def test_operators_manage_channel_rules_and_viewers_see_them() -> None:
    from django.contrib.auth.models import Group

    operator = set(Group.objects.get(name="operator").permissions.values_list("codename", flat=True))
    viewer = set(Group.objects.get(name="viewer").permissions.values_list("codename", flat=True))

    assert {"add_channel", "change_channel", "delete_channel", "view_channel"} <= operator
    assert "view_channel" in viewer and "change_channel" not in viewer
