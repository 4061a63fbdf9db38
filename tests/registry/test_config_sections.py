"""Every configuration model is in the one file: each feature app's section round-trips through
``gateway_export`` and ``gateway_apply`` (a no-op on the same database, the same rows on a fresh one)."""

from __future__ import annotations

import io
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.models import RedactionRule, RetentionRule
from edge.models import ConsumerEdge, EdgeDefaults
from ratelimit.models import RatePolicy
from realtime.models import Channel
from registry.declarative import ConfigError, apply_config
from registry.declarative.export import export_config
from registry.models import ConfigVersion, Consumer, JwtIssuer, Route, Service, Target
from tests.proxy.raw_backend import CertificateAuthority

pytestmark = pytest.mark.django_db

PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
HS_SECRET = "an-hs256-secret-that-is-long-enough-0123456789"
CA_PEM = CertificateAuthority(Path(tempfile.mkdtemp(prefix="gw-test-ca-"))).pem
# A service's TLS settings: none, https with the defaults, every field, a bundle of two CAs.
TLS: tuple[dict[str, str], ...] = (
    {},
    {"protocol": "https"},
    {
        "protocol": "https",
        "tls_ca_bundle": CA_PEM,
        "tls_client_cert": "/etc/gateway/s.crt",
        "tls_client_key": "/etc/gateway/s.key",
        "tls_server_name": "s.internal",
    },
    {"protocol": "https", "tls_ca_bundle": CA_PEM + CA_PEM, "tls_client_cert": "/etc/gateway/both.pem"},
)


def every_model() -> None:
    orders = Service.objects.create(name="Orders", slug="orders")
    Target.objects.create(service=orders, host="10.0.0.1", port=8080)
    route = Route.objects.create(service=orders, name="orders", path_prefix="/orders", auth_mode="jwt")
    alice = Consumer.objects.create(name="alice", roles="orders:read")
    rs = JwtIssuer.objects.create(name="idp", issuer="https://idp", audience="gw", public_key=PEM, leeway=5)
    rs.routes.set([route])
    JwtIssuer.objects.create(name="jwks", issuer="https://other", audience="gw", jwks_url="https://idp.example/jwks")
    JwtIssuer.objects.create(name="shared", issuer="https://hs", audience="gw", algorithm="HS256", secret=HS_SECRET)
    policy = RatePolicy.objects.create(name="per-ip", limit=10, period=60, scope="client_ip", shadow=True)
    policy.routes.set([route])
    policy.consumers.set([alice])
    RatePolicy.objects.create(name="global", limit=1000, all_routes=True, algorithm="gcra", burst=50)
    Channel.objects.create(pattern="orders.*", roles="orders:read", description="Order events")
    RedactionRule.objects.create(kind="header", name="X-Card", phi_only=True, note="card numbers")
    RedactionRule.objects.create(kind="path_segment", name=r"^\d{16}$")
    RetentionRule.objects.create(days=30)
    RetentionRule.objects.create(service=orders, days=90)
    RetentionRule.objects.create(phi=True, days=2190)
    defaults = EdgeDefaults.load()
    defaults.hsts_max_age = 3600
    defaults.content_type_options = True
    defaults.save()
    ConsumerEdge.objects.create(consumer=alice, ip_allow="10.0.0.0/8", request_headers_set="X-Tenant: a")


def feature_rows() -> dict[str, int]:
    models = (JwtIssuer, RatePolicy, Channel, RedactionRule, RetentionRule, ConsumerEdge)
    return {m.__name__: m.objects.count() for m in models}


def test_the_export_of_every_model_applies_to_the_same_database_as_no_change() -> None:
    every_model()
    version = ConfigVersion.objects.get(pk=1).version

    assert apply_config(export_config()) == []
    assert ConfigVersion.objects.get(pk=1).version == version


def test_the_export_holds_each_feature_section_and_never_a_secret() -> None:
    every_model()
    text = export_config()
    data = yaml.safe_load(text)

    assert HS_SECRET not in text and "secret" not in {k for issuer in data["jwt_issuers"] for k in issuer}
    assert [i["name"] for i in data["jwt_issuers"]] == ["idp", "jwks", "shared"]
    assert data["jwt_issuers"][0]["routes"] == ["orders"]
    assert data["rate_policies"][0] | {"routes": ["orders"], "consumers": ["alice"]} == data["rate_policies"][0]
    assert data["channels"] == [
        {"pattern": "orders.*", "roles": "orders:read", "description": "Order events", "enabled": True}
    ]
    assert {(r["kind"], r["name"]) for r in data["redaction_rules"]} == {
        ("header", "X-Card"),
        ("path_segment", r"^\d{16}$"),
    }
    assert [(r["service"], r["phi"], r["days"]) for r in data["retention_rules"]] == [
        (None, False, 30),
        ("orders", False, 90),
        (None, True, 2190),
    ]
    assert data["edge_defaults"]["hsts_max_age"] == 3600
    assert data["consumer_edge"][0]["consumer"] == "alice"


def test_a_fresh_database_gets_the_same_configuration_back(monkeypatch: pytest.MonkeyPatch) -> None:
    every_model()
    text = export_config()
    before = feature_rows()
    for model in (RatePolicy, Channel, RedactionRule, RetentionRule, ConsumerEdge, JwtIssuer, EdgeDefaults):
        model.objects.all().delete()
    Service.objects.all().delete()
    Consumer.objects.all().delete()
    # The HS256 secret is not in the file: a fresh database takes it from the variable the file names.
    monkeypatch.setenv("SHARED_JWT_SECRET", HS_SECRET)
    fresh = text.replace("    algorithm: HS256\n", "    algorithm: HS256\n    secret_env: SHARED_JWT_SECRET\n")

    apply_config(fresh)

    assert export_config() == text
    assert feature_rows() == before
    assert JwtIssuer.objects.get(name="shared").secret == HS_SECRET


def test_a_file_without_a_section_leaves_that_kind_alone() -> None:
    every_model()
    data = yaml.safe_load(export_config())
    del data["rate_policies"]
    data["channels"] = []

    changes = apply_config(yaml.safe_dump(data))

    assert [str(c) for c in changes] == ["- channel rule orders.* (disabled)"]
    assert RatePolicy.objects.filter(enabled=True).count() == 2


def test_rows_of_a_model_without_enabled_are_deleted_when_the_file_leaves_them_out() -> None:
    every_model()
    data = yaml.safe_load(export_config())
    data["retention_rules"] = [{"days": 7}]

    changes = apply_config(yaml.safe_dump(data))

    assert sorted(str(c) for c in changes) == [
        "- retention rule (none) true (deleted)",
        "- retention rule orders false (deleted)",
        "~ retention rule (none) false: days 30 -> 7",
    ]
    assert list(RetentionRule.objects.values_list("days", flat=True)) == [7]


def test_references_and_rules_are_checked_with_line_numbers_and_nothing_is_written() -> None:
    text = """version: 1
services: []
rate_policies:
  - name: nowhere
    limit: 5
  - name: lost
    limit: 5
    routes: [missing-route]
jwt_issuers:
  - name: hs
    issuer: https://x
    audience: gw
    algorithm: HS256
"""
    with pytest.raises(ConfigError) as caught:
        apply_config(text)

    assert [(p.line, p.message) for p in caught.value.problems] == [
        (4, "rate policy nowhere field 'all_routes': " + attach_message()),
        (8, "rate policy lost field 'routes': no route named 'missing-route'"),
        (10, "JWT issuer hs field 'secret': HS256 needs a secret of at least 32 characters."),
    ]
    assert not RatePolicy.objects.exists()


def attach_message() -> str:
    from ratelimit.models import attachment_error

    message = attachment_error(False, [], [], [])
    assert message
    return message


def test_a_secret_named_by_a_missing_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    text = "version: 1\nservices: []\njwt_issuers:\n  - name: hs\n    issuer: i\n    audience: a\n"
    text += "    algorithm: HS256\n    secret_env: NO_SUCH_SECRET\n"

    with pytest.raises(ConfigError) as caught:
        apply_config(text)

    assert "the environment variable 'NO_SUCH_SECRET' is not set" in caught.value.problems[0].message


def test_gateway_export_piped_into_a_dry_run_prints_no_changes(tmp_path: Path) -> None:
    every_model()
    path = tmp_path / "gateway.yaml"
    call_command("gateway_export", "-o", str(path), stderr=io.StringIO())
    out = io.StringIO()

    call_command("gateway_apply", str(path), "--dry-run", stdout=out)

    assert "no changes" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("gateway_apply", str(tmp_path / "absent.yaml"), stdout=io.StringIO(), stderr=io.StringIO())


NAMES = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)


@st.composite
def configurations(draw: st.DrawFn) -> dict[str, object]:
    routes = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    policies = draw(st.lists(NAMES, max_size=4, unique=True))
    return {
        "version": 1,
        "services": [
            {
                "name": "S",
                "slug": "s",
                **draw(st.sampled_from(TLS)),
                "routes": [{"name": f"r-{n}", "path_prefix": f"/{n}"} for n in routes],
            }
        ],
        "rate_policies": [
            {
                "name": f"p-{n}",
                "limit": draw(st.integers(1, 10_000)),
                "period": draw(st.integers(1, 3600)),
                "shadow": draw(st.booleans()),
                "routes": draw(st.lists(st.sampled_from([f"r-{r}" for r in routes]), min_size=1, unique=True)),
            }
            for n in policies
        ],
        "channels": [
            {"pattern": f"{n}.*", "roles": draw(st.sampled_from(["", "a", "a,b"]))}
            for n in draw(st.lists(NAMES, max_size=3, unique=True))
        ],
        "redaction_rules": [
            {"kind": "header", "name": f"X-{n}", "phi_only": draw(st.booleans())}
            for n in draw(st.lists(NAMES, max_size=3, unique=True))
        ],
        "retention_rules": [{"days": draw(st.integers(1, 3650))}],
        "edge_defaults": {"hsts_max_age": draw(st.sampled_from([0, 300, 31536000]))},
    }


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configurations())
def test_any_generated_configuration_round_trips_through_export_and_apply(config: dict[str, object]) -> None:
    apply_config(yaml.safe_dump(config))
    text = export_config()

    assert apply_config(text, dry_run=True) == []
    for model in (RatePolicy, Channel, RedactionRule, RetentionRule, EdgeDefaults):
        model.objects.all().delete()
    Service.objects.all().delete()
    apply_config(text)
    assert export_config() == text
    Service.objects.all().delete()  # the next example starts empty
    for model in (RatePolicy, Channel, RedactionRule, RetentionRule, EdgeDefaults):
        model.objects.all().delete()


def test_a_drift_check_exits_1_with_the_changes_when_the_database_differs(tmp_path: Path) -> None:
    every_model()
    path = tmp_path / "gateway.yaml"
    path.write_text(export_config())
    out = io.StringIO()
    call_command("gateway_apply", str(path), "--check", stdout=out)
    assert "no changes" in out.getvalue()
    Channel.objects.update(roles="ops")
    version = ConfigVersion.objects.get(pk=1).version
    out = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("gateway_apply", str(path), "--check", stdout=out, no_color=True)

    assert caught.value.returncode == 1 and "drift" in str(caught.value)
    assert out.getvalue() == "~ channel rule orders.*: roles 'ops' -> 'orders:read'\n"
    assert ConfigVersion.objects.get(pk=1).version == version and Channel.objects.get().roles == "ops"
