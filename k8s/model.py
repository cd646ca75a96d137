"""The k8s package's input: one function as the cluster needs to know it.

:class:`FunctionSpec` is what :mod:`k8s.render` turns into resources, and what the
operator reads back from a Function resource (``k8s.render.spec_from_resource``). The
worker registry (``worker_runtime``) is mapped onto it by ``eventfn manifests``; this
module deliberately does not import ``worker_runtime``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from broker_bridge import topology
from broker_bridge.errors import ConfigurationError
from k8s.scaling.policy import ScalingPolicy

__all__ = ["FILTER_DIALECTS", "RESERVED_NAMES", "FunctionSpec", "Resources"]

#: Names of eventfn's own Deployments, which a function's Deployment must not take.
RESERVED_NAMES = frozenset({"eventfn-operator", "eventfn-bridge", "eventfn-ingress"})
#: The CloudEvents Subscriptions API filter dialects; each filter has exactly one.
FILTER_DIALECTS = frozenset({"exact", "prefix", "suffix", "all", "any", "not", "sql"})
#: Environment variables eventfn sets itself (the broker URL comes from a Secret).
_MANAGED_ENV = frozenset({"EVENTFN_BROKER_URL", "EVENTFN_HEALTH_PORT"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_CAMEL = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class Resources(BaseModel):
    """Container resource requests and limits, as in a Kubernetes container spec."""

    model_config = _CAMEL

    requests: dict[str, str] = Field(default_factory=lambda: {"cpu": "100m", "memory": "128Mi"})
    limits: dict[str, str] = Field(default_factory=lambda: {"cpu": "1", "memory": "512Mi"})


class FunctionSpec(BaseModel):
    """One function: its image, execution limits, scaling policy and subscriptions.

    ``drain_seconds`` is the time a worker needs after its last handler returns to
    ack, publish replies and close its broker connection; the pod's
    ``terminationGracePeriodSeconds`` is ``ceil(timeout_seconds + drain_seconds)`` so
    that a warm shutdown never cuts a running handler short. ``subscriptions`` are
    Subscriptions API filter dicts, one subscription each (as ``@function(subscribe=)``).
    """

    model_config = _CAMEL

    name: str
    image: str = Field(min_length=1)
    timeout_seconds: float = Field(default=30.0, gt=0, le=86400)
    drain_seconds: float = Field(default=30.0, ge=0, le=3600)
    concurrency: int = Field(default=1, ge=1, le=1024)
    scaling: ScalingPolicy = Field(default_factory=ScalingPolicy)
    subscriptions: tuple[dict[str, Any], ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    functions_module: str | None = None
    resources: Resources = Field(default_factory=Resources)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            topology.validate_function_name(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from exc
        if value in RESERVED_NAMES:
            raise ValueError(f"function name {value!r} is reserved for eventfn's own deployments")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ENV_NAME.match(key):
                raise ValueError(f"environment variable name {key!r} is not valid")
            if key in _MANAGED_ENV:
                raise ValueError(f"environment variable {key} is set by eventfn, not per function")
        return value

    @field_validator("subscriptions")
    @classmethod
    def _filters(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        for index, entry in enumerate(value):
            _check_filter(entry, f"subscriptions[{index}]")
        return value

    @property
    def queue(self) -> str:
        """The function's task queue, ``eventfn.fn.<name>``."""
        return topology.function_queue_name(self.name)

    @property
    def termination_grace_seconds(self) -> int:
        return math.ceil(self.timeout_seconds + self.drain_seconds)


def _check_filter(entry: object, where: str) -> None:
    """Shallow structural check of a Subscriptions API filter (one dialect per filter).

    The full compile (CESQL included) belongs to ``broker_bridge``'s filter compiler,
    which the bridge runs when it loads the subscription.
    """
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise ValueError(f"{where} must be a mapping with exactly one dialect")
    ((dialect, body),) = entry.items()
    if dialect not in FILTER_DIALECTS:
        raise ValueError(f"{where}: unknown filter dialect {dialect!r}")
    if dialect in {"exact", "prefix", "suffix"}:
        if not isinstance(body, Mapping) or not body:
            raise ValueError(f"{where}.{dialect} must map attribute names to strings")
        if not all(isinstance(v, str) for v in body.values()):
            raise ValueError(f"{where}.{dialect} values must be strings")
    elif dialect in {"all", "any"}:
        if not isinstance(body, list) or not body:
            raise ValueError(f"{where}.{dialect} must be a non-empty list of filters")
        for index, sub in enumerate(body):
            _check_filter(sub, f"{where}.{dialect}[{index}]")
    elif dialect == "not":
        _check_filter(body, f"{where}.not")
    elif not isinstance(body, str) or not body:
        raise ValueError(f"{where}.sql must be a non-empty CESQL expression")
