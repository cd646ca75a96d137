"""Running the ingress app on uvicorn, with graceful shutdown.

Called by ``eventfn ingress`` (:func:`serve`) and by tests and benchmarks
(:func:`build_server`, to run a server in a thread on a free loopback port).

Why uvicorn: the reference ASGI server (encode, the Starlette authors), actively
maintained, with httptools' C parser and uvloop when installed, HTTP/1.1
keep-alive, and a graceful shutdown that does what the ingress promises: on
SIGTERM or SIGINT it stops accepting connections, lets in-flight requests finish
(each answered 202 or refused, up to ``EVENTFN_INGRESS_GRACEFUL_TIMEOUT``
seconds), then runs the app's shutdown, which closes the broker connections.
"""

from __future__ import annotations

import socket
from typing import Any

import structlog
import uvicorn

from broker_bridge.aio import AsyncPublisher
from broker_bridge.config import Settings
from broker_bridge.connection import mask_url
from broker_bridge.ingress.app import FunctionLookup, create_app
from broker_bridge.publisher_pool import RetryPolicy

__all__ = ["IngressServer", "build_server", "ingress_retry_policy", "serve"]

log = structlog.get_logger("eventfn.ingress")


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
        **uvicorn_options,
    }
    server = IngressServer(uvicorn.Config(app, **options))
    log.info(
        "ingress configured",
        broker=mask_url(publisher.url),
        max_body=settings.ingress_max_body,
        token=settings.ingress_token is not None,
    )
    return server


def serve(
    settings: Settings, *, url: str | None = None, functions: FunctionLookup | None = None
) -> None:
    """Run the ingress until SIGTERM/SIGINT, then drain in-flight requests and stop."""
    build_server(settings, url=url, functions=functions).run()
