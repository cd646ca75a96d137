"""``@function``: register a plain Python handler, returning it unchanged.

The handler gets one attribute, ``send`` (:mod:`worker_runtime.sending`):
``resize.send({"url": ...}, subject="img/1")`` puts an event straight onto the
function's queue (a background job) and returns its id.

Options are validated here, when the module is imported, never when an event
arrives: a bad option raises :class:`~worker_runtime.errors.RegistrationError`
naming the function and the option. Subscriptions are compiled here too (the bridge
compiles them again from the registry): a broken filter names the function, the
filter's path (``subscribe[0].sql``) and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel, ValidationError

from broker_bridge.filters import InvalidFilterError, compile_filter
from worker_runtime.errors import RegistrationError
from worker_runtime.registry import FunctionSpec, Registry, current_registry
from worker_runtime.retry import Retry
from worker_runtime.sending import FunctionHandler, attach

__all__ = ["function"]

P = ParamSpec("P")
R = TypeVar("R")


def function(
    name: str,
    *,
    subscribe: Iterable[Mapping[str, Any]] = (),
    retry: Retry | None = None,
    timeout: float = 30.0,
    concurrency: int = 1,
    idempotent: bool = False,
    data_model: type[BaseModel] | None = None,
    registry: Registry | None = None,
) -> Callable[[Callable[P, R]], FunctionHandler[P, R]]:
    """Register the decorated handler as function ``name``.

    ``subscribe`` takes CloudEvents Subscriptions API filters (a list is a
    conjunction per subscription entry); the handler receives a ``cloudevents.core``
    CloudEvent and returns None, an event, or a list of events (replies). The
    handler is returned unchanged but for its ``send`` attribute.
    """

    def decorate(handler: Callable[P, R]) -> FunctionHandler[P, R]:
        if not callable(handler):
            raise RegistrationError(f"@function({name!r}) must decorate a callable")
        filters = _compiled_subscriptions(name, subscribe)
        try:
            spec = FunctionSpec(
                name=name,
                handler=handler,
                subscribe=filters,
                retry=retry or Retry(),
                timeout=timeout,
                concurrency=concurrency,
                idempotent=idempotent,
                data_model=data_model,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise RegistrationError(f"@function({name!r}): {problems}") from exc
        (registry if registry is not None else current_registry()).register(spec)
        return attach(handler, spec.name)

    return decorate


def _compiled_subscriptions(name: str, subscribe: Any) -> tuple[Mapping[str, Any], ...]:
    """``subscribe`` as a tuple of filter mappings, each compiled once to check it."""
    if isinstance(subscribe, Mapping):
        raise RegistrationError(
            f"@function({name!r}): subscribe must be a list of filters, got a dict; "
            f"write subscribe=[{dict(subscribe)!r}]"
        )
    if isinstance(subscribe, str | bytes) or not isinstance(subscribe, Iterable):
        raise RegistrationError(
            f"@function({name!r}): subscribe must be a list of filters, "
            f"got {type(subscribe).__name__} {subscribe!r}"
        )
    filters = tuple(subscribe)
    for index, spec in enumerate(filters):
        if not isinstance(spec, Mapping):
            raise RegistrationError(
                f"@function({name!r}): subscribe[{index}] must be a filter mapping "
                f"such as {{'exact': {{'type': ...}}}}, got {type(spec).__name__} {spec!r}"
            )
    try:
        compile_filter([dict(spec) for spec in filters], path="subscribe")
    except InvalidFilterError as exc:
        raise RegistrationError(
            f"@function({name!r}): invalid filter at {exc.path}: {exc.reason}"
        ) from exc
    return filters
