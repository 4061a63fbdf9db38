"""The entries of a ``gateway_apply`` file, as parsed, and the problems found in one.

Every entry remembers the line it starts on and the line of each of its keys, so that problems
found at any step (parsing, validation, checks against the database) name the right line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models

FORMAT_VERSION = 1
# The keys of each kind of entry are the model's fields of the same names (registry.layout).


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str


class ConfigError(Exception):
    """The file cannot be applied; ``problems`` lists every reason found, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(f"{len(self.problems)} problem(s) in the configuration")

    def lines(self, source: str) -> list[str]:
        return [f"{source}:{p.line}: {p.message}" for p in self.problems]


@dataclass(frozen=True, slots=True)
class Entry:
    """One service, target, route or consumer of the file: a value for each of its kind's keys
    (``registry.layout.plain_fields``), defaults filled in, read as attributes (``entry.slug``)."""

    model: type[models.Model]
    label: str  # how messages and the diff name this entry, e.g. "route 'orders-v2'"
    line: int
    key_lines: Mapping[str, int]
    # Fields that already have a problem; later checks skip them instead of reporting twice.
    invalid: frozenset[str]
    values: Mapping[str, Any]
    targets: tuple[Entry, ...] = ()  # of a service
    routes: tuple[Entry, ...] = ()  # of a service

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "values":
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    @property
    def address(self) -> str:
        """A target's host and port."""
        host, port = self.values["host"], self.values["port"]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Config:
    services: tuple[Entry, ...]
    consumers: tuple[Entry, ...] = ()
    # Only a file with a 'consumers' key manages consumers (and prunes those it does not list).
    manages_consumers: bool = False
    # The feature sections (``registry.declarative.kinds``) the file has, by key: only those are managed.
    extras: Mapping[str, tuple[Entry, ...]] = field(default_factory=dict)
