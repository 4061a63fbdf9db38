"""What the realtime app compiles into each routing table (``snapshot.extensions["realtime"]``).

``load_realtime`` runs in the config watcher's worker thread during every table rebuild (ORM
allowed there). The data plane only reads the frozen result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from proxy.auth.config import EITHER, AuthConfig
from realtime.models import Channel
from registry import validators as v
from registry.auth_compile import gateway_user_key

if TYPE_CHECKING:
    from registry.routing import Snapshot

NAME = "realtime"
CHANNEL_RE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


@dataclass(frozen=True, slots=True)
class ChannelRule:
    pattern: str
    regex: re.Pattern[str]
    roles: frozenset[str]  # empty: any authenticated caller


@dataclass(frozen=True, slots=True, eq=False)
class RealtimeConfig:
    rules: tuple[ChannelRule, ...]
    auth: AuthConfig  # API keys and JWTs of every enabled consumer and issuer, and gateway users
    origins: tuple[str, ...]  # allowed Origins of /ws/ connections (as a route's websocket_origins)

    def may_subscribe(self, channel: str, roles: frozenset[str]) -> bool:
        for rule in self.rules:
            if rule.regex.fullmatch(channel) and (not rule.roles or rule.roles & roles):
                return True
        return False


def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def load_realtime(snapshot: Snapshot) -> RealtimeConfig:
    rules = tuple(
        ChannelRule(c.pattern, compile_pattern(c.pattern), frozenset(v.parse_roles(c.roles)))
        for c in Channel.objects.filter(enabled=True).order_by("pattern")
    )
    credentials = snapshot.credentials
    auth = AuthConfig(
        mode=EITHER,
        required_roles=frozenset(),
        allow_anonymous=False,
        key_header=b"",
        key_query_param="",
        identity_headers=(),
        jwt_keys=(*credentials.jwt_keys, gateway_user_key()),
        credentials=credentials,
    )
    return RealtimeConfig(rules=rules, auth=auth, origins=tuple(settings.GATEWAY_REALTIME_ORIGINS))
