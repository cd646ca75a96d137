"""Rendered documents to YAML and back (multi-document streams, key order kept).

Used by ``eventfn manifests`` to print what :mod:`k8s.render` built, and by tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

__all__ = ["from_yaml", "to_yaml"]


def to_yaml(documents: Iterable[Mapping[str, Any]]) -> str:
    """One YAML stream, documents separated by ``---``, keys in the order they were built."""
    return yaml.safe_dump_all(
        [dict(document) for document in documents], sort_keys=False, default_flow_style=False
    )


def from_yaml(text: str) -> list[dict[str, Any]]:
    """Every non-empty document of a YAML stream, each a mapping."""
    documents: list[dict[str, Any]] = []
    for document in yaml.safe_load_all(text):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ValueError(f"a YAML document is a {type(document).__name__}, not a mapping")
        documents.append(document)
    return documents
