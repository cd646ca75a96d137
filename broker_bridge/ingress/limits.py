"""Reading a request body within the ingress size limit.

Called by the ingress app for ``POST`` requests. A declared ``Content-Length``
above the limit is refused before anything is read; a body without one (chunked)
is read until it passes the limit, then refused, so the ingress never buffers more
than ``EVENTFN_INGRESS_MAX_BODY`` bytes of one request.
"""

from __future__ import annotations

import re

from starlette.requests import Request

from broker_bridge.errors import BridgeError

__all__ = ["BodyTooLarge", "MalformedLength", "read_body"]

_DIGITS = re.compile(r"^[0-9]{1,19}$")


class BodyTooLarge(BridgeError, ValueError):
    """The body is larger than the limit (the ingress answers 413)."""

    def __init__(self, limit: int, size: int | None) -> None:
        self.limit = limit
        self.size = size
        told = f"{size} bytes" if size is not None else "more bytes"
        super().__init__(f"request body of {told} exceeds the limit of {limit} bytes")


class MalformedLength(BridgeError, ValueError):
    """The Content-Length header is not a non-negative decimal integer (400)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge / MalformedLength."""
    declared = request.headers.getlist("content-length")
    if declared:
        if len(set(declared)) != 1 or not _DIGITS.match(declared[0].strip()):
            raise MalformedLength(f"Content-Length {', '.join(declared)!r} is not valid")
        size = int(declared[0])
        if size > limit:
            raise BodyTooLarge(limit, size)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(limit, None)
        chunks.append(chunk)
    return b"".join(chunks)
