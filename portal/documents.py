"""A backend's OpenAPI document: parsed, checked and validated before the portal keeps it.

Pure functions, no I/O: ``portal.fetch`` brings the bytes, ``portal.services`` stores the result.
Only OpenAPI 3.0 and 3.1 are accepted. ``$ref`` must stay inside the document: a reference to
another file or URL would make the validator fetch it, from wherever the backend points.
YAML anchors and aliases are refused too (a few bytes of aliases can expand to gigabytes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

VERSIONS = ("3.0.", "3.1.")


class DocumentRefused(Exception):
    """The bytes are not an OpenAPI 3.0 or 3.1 document the portal can use; the message says why."""


@dataclass(frozen=True, slots=True)
class Document:
    content: dict[str, Any]
    digest: str  # SHA-256 of its canonical JSON: the document's version
    openapi_version: str


def parse(raw: bytes, content_type: str = "") -> Document:
    """``raw`` (JSON or YAML) as a validated document, or ``DocumentRefused``."""
    content = _load(raw, content_type)
    if not isinstance(content, dict):
        raise DocumentRefused("The document is not a JSON or YAML object.")
    version = content.get("openapi")
    if not isinstance(version, str) or not version.startswith(VERSIONS):
        raise DocumentRefused(f"Only OpenAPI 3.0 and 3.1 documents are supported (openapi: {version!r}).")
    for ref in refs(content):
        if not ref.startswith("#"):
            raise DocumentRefused(f"$ref {ref!r} points outside the document; only local references are supported.")
    validate(content)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Document(content, hashlib.sha256(canonical.encode()).hexdigest(), version)


def validate(content: dict[str, Any]) -> None:
    from openapi_spec_validator import validate as validate_spec

    try:
        validate_spec(content)
    except Exception as exc:  # the validator raises a variety of errors; each means "not valid"
        raise DocumentRefused(f"Not a valid OpenAPI document: {_first_line(exc)}") from None


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in the document."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                yield ref
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class _NoAliases(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise DocumentRefused("YAML aliases are not supported in API documents.")
        return super().compose_node(parent, index)


def _load(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8-sig", errors="replace")
    if "yaml" not in content_type.lower() or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            if "json" in content_type.lower():
                raise DocumentRefused("The document is not valid JSON.") from None
    try:
        return yaml.load(text, Loader=_NoAliases)  # noqa: S506  (a safe loader, aliases refused)
    except yaml.YAMLError as exc:
        raise DocumentRefused(f"The document is neither JSON nor YAML: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
