"""One OpenAPI 3.1 document for every published service (pure, like ``portal.rewrite``).

Each service's rewritten document is brought to 3.1 (``portal.dialect``) and its components are
renamed ``<slug>.<name>`` (every ``$ref`` with them), so two services may both have a ``Pet``
schema. Security schemes are the gateway's and shared; operation ids are made unique across
services; each service is one tag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from portal.rewrite import METHODS, unique

SHARED = ("securitySchemes",)
GATEWAY_SCHEMAS = ("GatewayProblem",)


def merge(documents: Sequence[tuple[str, dict[str, Any]]], server_url: str, title: str) -> dict[str, Any]:
    """``documents``: (service slug, its rewritten 3.1 document), in the order to show them."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: list[dict[str, Any]] = []
    ids: set[str] = set()
    for slug, document in documents:
        renamed = _namespaced(document, slug)
        for kind, items in (renamed.get("components") or {}).items():
            components.setdefault(kind, {}).update(items)
        tags.extend(renamed.get("tags") or [])
        for path, item in (renamed.get("paths") or {}).items():
            target = paths.setdefault(path, {})
            for key, value in item.items():
                if key in METHODS:
                    if key in target:
                        continue  # two services at one path and method: the first one shown wins
                    value["operationId"] = unique(str(value.get("operationId")), ids, slug)
                target.setdefault(key, value)
    digest = hashlib.sha256(json.dumps([paths, components], sort_keys=True).encode()).hexdigest()[:12]
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": digest,
            "description": "Every published service of this gateway, as callers of the gateway see it.",
        },
        "servers": [{"url": server_url}],
        "tags": tags,
        "paths": paths,
    }
    if components:
        merged["components"] = components
    return merged


def _namespaced(document: dict[str, Any], slug: str) -> dict[str, Any]:
    """``document`` with its own components renamed ``<slug>.<name>`` (the gateway's stay as they are)."""
    components = document.get("components") or {}
    renames = {
        f"#/components/{kind}/{name}": f"#/components/{kind}/{slug}.{name}"
        for kind, items in components.items()
        if kind not in SHARED
        for name in items
        if not (kind == "schemas" and name in GATEWAY_SCHEMAS)
    }
    out = _renamed_refs(document, renames)
    out["components"] = {
        kind: (
            items
            if kind in SHARED
            else {
                (name if kind == "schemas" and name in GATEWAY_SCHEMAS else f"{slug}.{name}"): v
                for name, v in items.items()
            }
        )
        for kind, items in (out.get("components") or {}).items()
    }
    return dict(out)


def _renamed_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {key: _renamed_refs(value, renames) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str):
            out["$ref"] = _rename(ref, renames)
        return out
    if isinstance(node, list):
        return [_renamed_refs(item, renames) for item in node]
    return node


def _rename(ref: str, renames: dict[str, str]) -> str:
    parts = ref.split("/")
    if len(parts) < 4 or parts[:2] != ["#", "components"]:
        return ref
    head = "/".join(parts[:4])
    new = renames.get(head)
    return new + ref[len(head) :] if new else ref
