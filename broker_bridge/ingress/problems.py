"""Problem details (RFC 9457, ``application/problem+json``) for every ingress error.

Called by the ingress app for each refusal. Every body has ``type`` (a URN per
problem kind), ``title`` (the kind, constant), ``status`` (the HTTP status) and
``detail`` (what exactly is wrong with this request). Invalid events add
``invalid-params`` (``name``: the attribute, ``"[2].source"`` inside a batch;
``reason``) and, for a batch, ``errors``: one entry per bad event with its
``index`` and ``reasons``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from broker_bridge.invalid import InvalidEventError

__all__ = [
    "BAD_REQUEST",
    "BROKER_UNAVAILABLE",
    "EVENT_TOO_LARGE",
    "INTERNAL",
    "INVALID_EVENT",
    "METHOD_NOT_ALLOWED",
    "NOT_FOUND",
    "PROBLEM_CONTENT_TYPE",
    "TOO_LARGE",
    "UNAUTHORIZED",
    "UNKNOWN_FUNCTION",
    "UNSUPPORTED",
    "Problem",
    "invalid_event",
    "problem_response",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE = "urn:eventfn:problem:"
_INDEXED = re.compile(r"^\[(\d+)\](?:\.(.*))?$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One kind of problem: its URN suffix, title and HTTP status."""

    kind: str
    title: str
    status: int

    def body(self, detail: str, **extensions: Any) -> dict[str, Any]:
        return {
            "type": _TYPE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": detail,
            **extensions,
        }


INVALID_EVENT = Problem("invalid-event", "Invalid CloudEvent", 400)
BAD_REQUEST = Problem("bad-request", "Malformed request", 400)
UNAUTHORIZED = Problem("unauthorized", "Missing or invalid token", 401)
NOT_FOUND = Problem("not-found", "Not found", 404)
UNKNOWN_FUNCTION = Problem("unknown-function", "Unknown function", 404)
METHOD_NOT_ALLOWED = Problem("method-not-allowed", "Method not allowed", 405)
TOO_LARGE = Problem("payload-too-large", "Request body too large", 413)
EVENT_TOO_LARGE = Problem("event-too-large", "Event too large for the broker", 413)
UNSUPPORTED = Problem("unsupported-media-type", "Unsupported event format", 415)
INTERNAL = Problem("internal-error", "Internal error", 500)
BROKER_UNAVAILABLE = Problem("broker-unavailable", "Broker unavailable", 503)


def problem_response(
    problem: Problem,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A ``problem+json`` response for ``problem`` with ``detail`` and extensions."""
    body = json.dumps(problem.body(detail, **extensions), ensure_ascii=False).encode("utf-8")
    return Response(
        body, status_code=problem.status, headers=headers, media_type=PROBLEM_CONTENT_TYPE
    )


def invalid_event(error: InvalidEventError, *, batch: bool) -> Response:
    """400 naming every problem; for a batch, the index and reasons of each bad event."""
    params = [
        {"name": name, "reason": reason}
        for name, reasons in error.problems.items()
        for reason in reasons
    ]
    extensions: dict[str, Any] = {"invalid-params": params}
    if batch:
        extensions["errors"] = _by_index(error.problems)
    return problem_response(INVALID_EVENT, error.describe(), **extensions)


def _by_index(problems: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """``{"[2].id": [...]}`` -> ``[{"index": 2, "reasons": ["id: ..."]}]`` in index order."""
    grouped: dict[int, list[str]] = {}
    for name, reasons in problems.items():
        match = _INDEXED.match(name)
        if match is None:  # the batch as a whole (not JSON, not an array)
            continue
        index, attribute = int(match.group(1)), match.group(2)
        grouped.setdefault(index, []).extend(
            f"{attribute}: {reason}" if attribute else reason for reason in reasons
        )
    return [{"index": index, "reasons": grouped[index]} for index in sorted(grouped)]
