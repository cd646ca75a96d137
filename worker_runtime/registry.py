"""The explicit, replaceable function registry and what it holds per function.

``@function`` (``worker_runtime.decorator``) registers into the current registry;
``eventfn worker``/``bridge``/``dev`` load a functions module and read it back.
Tests get a fresh registry with :func:`use_registry`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from broker_bridge import topology
from broker_bridge.errors import ConfigurationError
from worker_runtime.errors import RegistrationError, UnknownFunction
from worker_runtime.retry import Retry

__all__ = ["FunctionSpec", "Registry", "current_registry", "use_registry"]


class FunctionSpec(BaseModel):
    """One registered function: its handler and every option, validated at registration."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    name: str
    handler: Callable[..., Any]
    subscribe: tuple[Mapping[str, Any], ...] = ()
    retry: Retry = Field(default_factory=Retry)
    timeout: float = Field(default=30.0, gt=0, le=86400)
    concurrency: int = Field(default=1, ge=1, le=1024)
    idempotent: bool = False
    data_model: type[BaseModel] | None = None

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        try:
            return topology.validate_function_name(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from exc

    @cached_property
    def is_async(self) -> bool:
        return asyncio.iscoroutinefunction(self.handler) or inspect.isasyncgenfunction(self.handler)

    @property
    def queue(self) -> str:
        return topology.function_queue_name(self.name)

    @property
    def dead_letter_queue(self) -> str:
        return topology.function_dlq_name(self.name)


class Registry:
    """Functions by name; registering a name twice is an error."""

    def __init__(self) -> None:
        self._functions: dict[str, FunctionSpec] = {}

    def register(self, spec: FunctionSpec) -> FunctionSpec:
        if spec.name in self._functions:
            existing = self._functions[spec.name].handler
            raise RegistrationError(
                f"function {spec.name!r} is already registered "
                f"(by {existing.__module__}.{existing.__qualname__})"
            )
        self._functions[spec.name] = spec
        return spec

    def get(self, name: str) -> FunctionSpec:
        try:
            return self._functions[name]
        except KeyError:
            raise UnknownFunction(name, list(self._functions)) from None

    def names(self) -> list[str]:
        return list(self._functions)

    def __iter__(self) -> Iterator[FunctionSpec]:
        return iter(list(self._functions.values()))

    def __len__(self) -> int:
        return len(self._functions)

    def __contains__(self, name: object) -> bool:
        return name in self._functions


_current = Registry()


def current_registry() -> Registry:
    """The registry ``@function`` registers into (replaceable with :func:`use_registry`)."""
    return _current


@contextmanager
def use_registry(registry: Registry | None = None) -> Iterator[Registry]:
    """Make ``registry`` (a fresh one by default) current for the block."""
    global _current  # noqa: PLW0603 - the registry is explicit but process-wide, like kopf's
    previous, _current = _current, registry or Registry()
    try:
        yield _current
    finally:
        _current = previous
