"""Running the ingress app on uvicorn, with graceful shutdown.

Called by ``eventfn ingress`` (:func:`serve`) and by tests and benchmarks
(:func:`build_server`, to run a server in a thread on a free loopback port).

Why uvicorn: the reference ASGI server (encode, the Starlette authors), actively
maintained, with httptools' C parser and uvloop when installed, HTTP/1.1
keep-alive, and a graceful shutdown that does what the ingress promises: on
SIGTERM or SIGINT it stops accepting connections, lets in-flight requests finish
(each answered 202 or refused, up to ``EVENTFN_INGRESS_GRACEFUL_TIMEOUT``
seconds), then runs the app's shutdown, which closes the broker connections.

A request head (request line and headers) is bounded to :data:`MAX_REQUEST_HEAD`
bytes, answered 431 above: uvicorn's httptools protocol has no such bound (a client
could make it buffer a header of gigabytes), its h11 protocol has one that we set.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import structlog
import uvicorn

from broker_bridge.aio import AsyncPublisher
from broker_bridge.config import Settings
from broker_bridge.connection import mask_url
from broker_bridge.ingress import problems
from broker_bridge.ingress.app import FunctionLookup, create_app
from broker_bridge.publisher_pool import RetryPolicy

__all__ = [
    "MAX_REQUEST_HEAD",
    "IngressServer",
    "build_server",
    "ingress_retry_policy",
    "serve",
]

log = structlog.get_logger("eventfn.ingress")

#: Largest request head (request line and headers) read, in bytes; 431 above.
MAX_REQUEST_HEAD = 64 * 1024
_HEAD_TOO_LARGE = problems.Problem("header-too-large", "Request header fields too large", 431)


def _http_protocol() -> Any:
    """uvicorn's httptools protocol with a bound on the request head, or h11."""
    try:
        from uvicorn.protocols.http.httptools_impl import (  # noqa: PLC0415 - optional
            HttpToolsProtocol,
        )
    except ImportError:  # no httptools: h11, bounded by h11_max_incomplete_event_size
        return "h11"

    class HeadTooLarge(Exception):
        """Raised in a parser callback: httptools stops, uvicorn calls send_400_response."""

    class BoundedHeadProtocol(HttpToolsProtocol):
        """Bounds a request head two ways: the URL and headers httptools hands over are
        summed (a head that arrived whole), and the bytes fed while a head stays open
        are summed, except those of the read the request began in (a head streamed in
        pieces, which httptools buffers without a callback): cut within one read."""

        _head_open = False
        _head_began = False
        _head_bytes = 0
        _head_parsed = 0
        _head_too_large = False

        def on_message_begin(self) -> None:
            self._head_open, self._head_began = True, True
            self._head_bytes = self._head_parsed = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._parsed(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._parsed(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _parsed(self, size: int) -> None:
            self._head_parsed += size
            if self._head_parsed > MAX_REQUEST_HEAD:
                self._head_too_large = True
                raise HeadTooLarge

        def on_headers_complete(self) -> None:
            self._head_open = False
            super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            if self._head_too_large:
                self._refuse_head()
            else:
                super().send_400_response(msg)

        def data_received(self, data: bytes) -> None:
            self._head_began = False
            super().data_received(data)
            if not self._head_open or self._head_began or self.transport.is_closing():
                return
            self._head_bytes += len(data)
            if self._head_bytes > MAX_REQUEST_HEAD:
                self._refuse_head()

        def _refuse_head(self) -> None:
            detail = f"the request head exceeds {MAX_REQUEST_HEAD} bytes"
            body = json.dumps(_HEAD_TOO_LARGE.body(detail, limit=MAX_REQUEST_HEAD)).encode()
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: application/problem+json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + body
            )
            self.transport.close()
            log.info("refused request", problem=_HEAD_TOO_LARGE.kind, detail=detail)

    return BoundedHeadProtocol


def ingress_retry_policy(settings: Settings) -> RetryPolicy:
    """Few, quick attempts: a client waiting on a request wants a prompt 503 instead."""
    return RetryPolicy(
        max_attempts=settings.ingress_publish_attempts,
        interval_start=0.1,
        interval_max=0.5,
        deadline=settings.publish_timeout,
    )


class IngressServer(uvicorn.Server):
    """A uvicorn server that logs the address it listens on once it accepts."""

    @property
    def port(self) -> int:
        """The bound port (useful with port 0); 0 before startup."""
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return 0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            log.info("ingress listening", host=self.config.host, port=self.port)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("ingress stopping; draining in-flight requests")
        await super().shutdown(sockets=sockets)
        log.info("ingress stopped")


def build_server(
    settings: Settings,
    *,
    url: str | None = None,
    functions: FunctionLookup | None = None,
    **uvicorn_options: Any,
) -> IngressServer:
    """An ingress server (not started) on the settings' host and port."""
    publisher = AsyncPublisher(
        url,
        settings=settings,
        pool_size=settings.ingress_connections,
        retry=ingress_retry_policy(settings),
    )
    app = create_app(publisher, settings, functions=functions)
    options: dict[str, Any] = {
        "host": settings.ingress_host,
        "port": settings.ingress_port,
        "timeout_graceful_shutdown": settings.ingress_graceful_timeout,
        "log_config": None,  # our structlog setup formats uvicorn's records too
        "access_log": False,
        "server_header": False,
        "lifespan": "on",
        "http": _http_protocol(),
        "h11_max_incomplete_event_size": MAX_REQUEST_HEAD,
        **uvicorn_options,
    }
    server = IngressServer(uvicorn.Config(app, **options))
    log.info(
        "ingress configured",
        broker=mask_url(publisher.url),
        max_body=settings.ingress_max_body,
        token=app.state.ingress.auth.enabled,
    )
    return server


def serve(
    settings: Settings, *, url: str | None = None, functions: FunctionLookup | None = None
) -> None:
    """Run the ingress until SIGTERM/SIGINT, then drain in-flight requests and stop."""
    build_server(settings, url=url, functions=functions).run()
