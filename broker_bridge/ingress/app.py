"""The HTTP ingress as an ASGI app (Starlette): CloudEvents in, 202 after the confirm.

Built by :func:`create_app`; run by :mod:`broker_bridge.ingress.server` (uvicorn)
from ``eventfn ingress``; tests mount it on a real server. Routes (the contract of
DESIGN.md, documented in docs/ingress.md):

* ``POST /``: one event (binary or structured mode) or a batch
  (``application/cloudevents-batch+json``), published to the bridge's input.
* ``POST /functions/NAME``: one event straight onto that function's queue.
* ``GET /healthz`` (the process is up), ``GET /readyz`` (the broker is reachable),
  ``GET /metrics`` (Prometheus text).

A request gets 202 only once the broker confirmed every event it carried; a batch
is published whole or refused whole. Refusals are ``application/problem+json``
(:mod:`broker_bridge.ingress.problems`): 400 invalid event or malformed request,
401 token, 404 unknown function or path, 405 method, 413 size (bytes, or events
in a batch over ``EVENTFN_INGRESS_MAX_BATCH``; or an event that cannot fit the
broker's frame or message size, naming the attribute and the limit, see
:mod:`broker_bridge.limits`), 415 event format or pickle,
503 (with ``Retry-After``) when the broker does not confirm (at the latest
``EVENTFN_PUBLISH_TIMEOUT`` + 0.5 s after the body was read, whatever the broker
does), 500 for a bug. No input makes the app raise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import structlog
from cloudevents.core.base import BaseCloudEvent
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from broker_bridge.bindings.http import content_mode, from_http, from_http_events
from broker_bridge.config import Settings
from broker_bridge.errors import PublishError
from broker_bridge.formats._media import is_pickle
from broker_bridge.ingress import problems as p
from broker_bridge.ingress.auth import TokenCheck
from broker_bridge.ingress.limits import BodyTooLarge, MalformedLength, read_body
from broker_bridge.ingress.metrics import IngressMetrics
from broker_bridge.invalid import InvalidEventError, UnsupportedFormatError
from broker_bridge.limits import EventTooLarge, MessageTooLarge
from broker_bridge.logs import event_fields

__all__ = ["FunctionLookup", "IngressPublisher", "create_app"]

log = structlog.get_logger("eventfn.ingress")

#: Which functions ``POST /functions/NAME`` may reach: a set of names or a predicate.
FunctionLookup = Collection[str] | Callable[[str], bool]


class IngressPublisher(Protocol):
    """What the app needs from a publisher (:class:`broker_bridge.aio.AsyncPublisher`)."""

    async def publish_many(self, events: Sequence[BaseCloudEvent]) -> Sequence[BaseCloudEvent]: ...

    async def publish_to_function(self, function: str, event: BaseCloudEvent) -> BaseCloudEvent: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


Handler = Callable[[Request], Awaitable[Response]]

_PICKLE_REFUSED = "pickle is refused: eventfn carries JSON, text or opaque bytes, never pickle"


class _Ingress:
    """The request handlers over one publisher, settings and metrics."""

    def __init__(
        self,
        publisher: IngressPublisher,
        settings: Settings,
        functions: FunctionLookup | None,
        metrics: IngressMetrics,
    ) -> None:
        self.publisher = publisher
        self.settings = settings
        self.metrics = metrics
        self.auth = TokenCheck(settings.ingress_token)
        self.retry_after = str(settings.ingress_retry_after)
        if functions is None:
            self.is_function: Callable[[str], bool] = lambda _name: False
        elif callable(functions):
            self.is_function = functions
        else:
            names = frozenset(functions)
            self.is_function = names.__contains__

    # -- POST / and POST /functions/NAME -------------------------------------------
    async def post_events(self, request: Request) -> Response:
        refused = self._refuse_unauthorized(request)
        if refused is not None:
            return refused
        events = await self._read_events(request, single=False)
        if isinstance(events, Response):
            return events
        if not events:
            return JSONResponse({"accepted": 0}, status_code=202)
        mode = content_mode(request.headers.raw)
        return await self._publish(events, mode, lambda: self.publisher.publish_many(events))

    async def post_function(self, request: Request) -> Response:
        refused = self._refuse_unauthorized(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        if not self._known(name):
            return self._refused(p.UNKNOWN_FUNCTION, f"no function named {name!r} is registered")
        events = await self._read_events(request, single=True)
        if isinstance(events, Response):
            return events
        (event,) = events

        async def send() -> Sequence[BaseCloudEvent]:
            return [await self.publisher.publish_to_function(name, event)]

        return await self._publish(events, content_mode(request.headers.raw), send, function=name)

    async def _read_events(
        self, request: Request, *, single: bool
    ) -> Sequence[BaseCloudEvent] | Response:
        """The request's events, or its refusal (size, format, invalid, pickle, batch size)."""
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        raw = request.headers.raw
        try:
            events = [from_http(raw, body)] if single else from_http_events(raw, body)
        except UnsupportedFormatError as exc:
            return self._refused(p.UNSUPPORTED, exc.describe(), content_type=exc.content_type)
        except InvalidEventError as exc:
            return self._invalid(exc, batch=not single and content_mode(raw) == "batch")
        return self._refuse_pickled(events) or self._refuse_batch(events) or events

    def _known(self, name: str) -> bool:
        try:
            return bool(self.is_function(name))
        except Exception:  # a lookup that fails knows no function of that name
            log.exception("function lookup failed", function=name)
            return False

    async def _publish(
        self,
        events: Sequence[BaseCloudEvent],
        mode: str,
        send: Callable[[], Awaitable[Sequence[BaseCloudEvent]]],
        function: str | None = None,
    ) -> Response:
        started = time.perf_counter()
        try:
            # whatever the broker does, the client hears within publish timeout + 1 s
            await asyncio.wait_for(send(), self.settings.publish_timeout + 0.5)
        except TimeoutError:
            self.metrics.broker_up.set(0)
            log.warning(
                "publish not confirmed in time; answering 503",
                events=len(events),
                timeout=self.settings.publish_timeout,
                **event_fields(events[0].get_attributes(), function),
            )
            return self._refused(
                p.BROKER_UNAVAILABLE,
                f"the broker did not confirm within {self.settings.publish_timeout:g}s; "
                "retry (a retried event may arrive twice: deduplicate by source and id)",
                headers={"Retry-After": self.retry_after},
            )
        except MessageTooLarge as exc:  # nothing was sent: the request is refused whole
            extensions: dict[str, Any] = {"limit": exc.limit, "size": exc.size}
            if isinstance(exc, EventTooLarge):
                extensions["attribute"] = exc.attribute
            else:
                extensions["part"] = exc.part
            return self._refused(p.EVENT_TOO_LARGE, str(exc), **extensions)
        except PublishError as exc:
            self.metrics.broker_up.set(0)
            log.warning(
                "publish not confirmed; answering 503",
                events=len(events),
                error=str(exc),
                **event_fields(events[0].get_attributes(), function),
            )
            return self._refused(
                p.BROKER_UNAVAILABLE,
                f"the broker did not confirm the event(s); nothing was accepted: {exc}",
                headers={"Retry-After": self.retry_after},
            )
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        self.metrics.broker_up.set(1)
        self.metrics.events.labels(mode).inc(len(events))
        if len(events) == 1:
            log.debug("accepted", mode=mode, **event_fields(events[0].get_attributes(), function))
        else:
            log.debug("accepted batch", mode=mode, events=len(events))
        return JSONResponse({"accepted": len(events)}, status_code=202)

    # -- refusals --------------------------------------------------------------------
    def _refuse_unauthorized(self, request: Request) -> Response | None:
        problem = self.auth.problem(request.headers.get("authorization"))
        if problem is None:
            return None
        return self._refused(
            p.UNAUTHORIZED, problem, headers={"WWW-Authenticate": 'Bearer realm="eventfn"'}
        )

    async def _body(self, request: Request) -> bytes | Response:
        content_type = request.headers.get("content-type")
        if is_pickle(content_type):
            return self._refused(p.UNSUPPORTED, _PICKLE_REFUSED, content_type=content_type)
        try:
            return await read_body(request, self.settings.ingress_max_body)
        except BodyTooLarge as exc:
            return self._refused(p.TOO_LARGE, str(exc), limit=exc.limit)
        except MalformedLength as exc:
            return self._refused(p.BAD_REQUEST, str(exc))
        except ClientDisconnect:  # nobody is left to read the answer
            return self._refused(p.BAD_REQUEST, "the client disconnected before the body ended")

    def _refuse_pickled(self, events: Sequence[BaseCloudEvent]) -> Response | None:
        for event in events:
            content_type = event.get_datacontenttype()
            if is_pickle(content_type):
                return self._refused(p.UNSUPPORTED, _PICKLE_REFUSED, content_type=content_type)
        return None

    def _refuse_batch(self, events: Sequence[BaseCloudEvent]) -> Response | None:
        limit = self.settings.ingress_max_batch
        if len(events) <= limit:
            return None
        detail = f"a batch of {len(events)} events exceeds the limit of {limit} events"
        return self._refused(p.TOO_LARGE, detail, max_events=limit)

    def _invalid(self, exc: InvalidEventError, *, batch: bool) -> Response:
        self.metrics.rejected.labels(p.INVALID_EVENT.kind).inc()
        log.info("refused invalid event", problems=exc.describe()[:500])
        return p.invalid_event(exc, batch=batch)

    def _refused(
        self,
        problem: p.Problem,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> Response:
        self.metrics.rejected.labels(problem.kind).inc()
        if problem.status != 503:
            log.info("refused request", problem=problem.kind, detail=detail[:500])
        return p.problem_response(problem, detail, headers=headers, **extensions)

    # -- probes ----------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if await self.publisher.ready():
            self.metrics.broker_up.set(1)
            return JSONResponse({"status": "ready"})
        self.metrics.broker_up.set(0)
        return p.problem_response(
            p.BROKER_UNAVAILABLE,
            "the broker is not reachable",
            headers={"Retry-After": self.retry_after},
        )

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(
            self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )


def create_app(
    publisher: IngressPublisher,
    settings: Settings,
    *,
    functions: FunctionLookup | None = None,
    metrics: IngressMetrics | None = None,
) -> Starlette:
    """The ingress ASGI app; closes ``publisher`` when the app shuts down.

    ``functions``: the names (or a predicate) ``POST /functions/NAME`` accepts;
    ``None`` refuses every name with 404.
    """
    ingress = _Ingress(publisher, settings, functions, metrics or IngressMetrics())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await publisher.aclose()
        log.info("ingress publisher closed")

    app = Starlette(
        routes=[
            Route("/", ingress.post_events, methods=["POST"]),
            Route("/functions/{name}", ingress.post_function, methods=["POST"]),
            Route("/healthz", ingress.healthz, methods=["GET"]),
            Route("/readyz", ingress.readyz, methods=["GET"]),
            Route("/metrics", ingress.metrics_endpoint, methods=["GET"]),
        ],
        exception_handlers={
            HTTPException: _http_problem,
            Exception: _internal_problem,
        },
        lifespan=lifespan,
    )
    app.add_middleware(_CountRequests, metrics=ingress.metrics)
    app.state.ingress = ingress
    return app


async def _http_problem(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (404 path, 405 method) as problem+json."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return p.problem_response(
            p.METHOD_NOT_ALLOWED,
            f"{request.method} is not allowed on {request.url.path}; use {allowed}",
            headers={"Allow": allowed},
        )
    if exc.status_code == 404:
        return p.problem_response(p.NOT_FOUND, f"no route for {request.url.path}")
    problem = p.Problem("http-error", str(exc.detail), exc.status_code)
    return p.problem_response(problem, str(exc.detail), headers=exc.headers)


async def _internal_problem(request: Request, exc: Exception) -> Response:
    log.error("ingress bug", path=request.url.path, exc_info=exc)
    return p.problem_response(p.INTERNAL, f"unexpected {type(exc).__name__}; see the ingress log")


class _CountRequests:
    """ASGI middleware: in-flight gauge and requests-by-status counter."""

    def __init__(self, app: Any, metrics: IngressMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        route = _route_label(scope.get("path", ""))

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.requests.labels(route, str(status)).inc()


def _route_label(path: str) -> str:
    if path.startswith("/functions/"):
        return "/functions/{name}"
    return path if path in ("/", "/healthz", "/readyz", "/metrics") else "other"
