"""The subscription table: which function receives which events, validated as a whole.

A :class:`Subscription` binds one function to a list of Subscriptions API filters (a
conjunction; see :mod:`broker_bridge.filters`), compiled when the subscription is
validated and kept on the model, never compiled per event. A
:class:`SubscriptionTable` holds them all and refuses duplicate names; it comes from a
YAML file (:func:`load_yaml`), from the function registry (dev mode) or from
Subscription resources (cluster mode). ``broker_bridge.routing`` turns it into the
index the bridge asks per event. YAML form::

    subscriptions:
      - name: thumbnails            # optional: defaults to "<function>-<n>"
        function: resize-image
        filters:
          - exact: {type: com.example.image.uploaded}
          - sql: "subject LIKE 'img/%'"
        delivery: {max_attempts: 5, timeout: 30}   # optional overrides

Errors::

    BridgeError
    ├── SubscriptionFileError (ValueError)     a YAML file that cannot be loaded
    └── UnknownFunctionsError (LookupError)    subscriptions naming unknown functions
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from broker_bridge.errors import BridgeError, ConfigurationError
from broker_bridge.filters import Filter, compile_filter
from broker_bridge.topology import validate_function_name

__all__ = [
    "DeliveryOptions",
    "Subscription",
    "SubscriptionFileError",
    "SubscriptionTable",
    "UnknownFunctionsError",
    "load_yaml",
]

#: DNS-1123 subdomain: usable as a Kubernetes resource name
_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class SubscriptionFileError(BridgeError, ValueError):
    """A subscriptions file cannot be read or is invalid; names the file and each problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        details = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid subscriptions file {path}:\n{details}")


class UnknownFunctionsError(BridgeError, LookupError):
    """Subscriptions name functions that do not exist (``functions``: the unknown names)."""

    def __init__(self, unknown: dict[str, list[str]]) -> None:
        self.functions = sorted(unknown)
        self.subscriptions = unknown
        listed = "; ".join(
            f"{function!r} (subscription {', '.join(map(repr, names))})"
            for function, names in sorted(unknown.items())
        )
        super().__init__(f"subscriptions name unknown functions: {listed}")


class DeliveryOptions(BaseModel):
    """Per-subscription overrides of the function's retry policy and timeout.

    ``None`` keeps the function's own setting; the fields mean what they mean in
    ``worker_runtime.Retry`` (``max_attempts`` counts every call, the first included).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int | None = Field(default=None, ge=1, le=1000)
    backoff: Literal["exponential", "linear", "constant"] | None = None
    delay: float | None = Field(default=None, ge=0)
    max_delay: float | None = Field(default=None, ge=0)
    timeout: float | None = Field(default=None, gt=0, le=86400)

    @model_validator(mode="after")
    def _delay_within_cap(self) -> DeliveryOptions:
        if self.delay is not None and self.max_delay is not None and self.max_delay < self.delay:
            raise ValueError(f"max_delay ({self.max_delay}) is below delay ({self.delay})")
        return self


class Subscription(BaseModel):
    """One function's interest in events: its filters are compiled at validation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME_PATTERN, max_length=253)
    function: str
    filters: list[dict[str, Any]]
    delivery: DeliveryOptions | None = None

    _filter: Filter = PrivateAttr()

    @field_validator("function")
    @classmethod
    def _function_name(cls, value: str) -> str:
        try:
            return validate_function_name(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _compile(self) -> Subscription:
        self._filter = compile_filter(self.filters, path="filters")
        return self

    @property
    def filter(self) -> Filter:
        """The compiled conjunction of :attr:`filters`."""
        return self._filter

    def matches(self, event: Any) -> bool:
        """Whether ``event`` (CloudEvent or Mapping of attributes) is for this function."""
        return self._filter.matches(event)


class SubscriptionTable(BaseModel):
    """Every subscription the bridge routes by, in order; names are unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscriptions: list[Subscription] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _default_names(cls, data: Any) -> Any:
        """A subscription without a name is called ``<function>-<n>`` (n counts from 0
        per function, in table order)."""
        if not isinstance(data, dict) or not isinstance(data.get("subscriptions"), list):
            return data
        seen: Counter[str] = Counter()
        named: list[Any] = []
        for item in data["subscriptions"]:
            entry = item
            if isinstance(item, dict) and isinstance(item.get("function"), str):
                function = item["function"]
                if "name" not in item:
                    entry = {"name": f"{function}-{seen[function]}", **item}
                seen[function] += 1
            named.append(entry)
        return {**data, "subscriptions": named}

    @model_validator(mode="after")
    def _unique_names(self) -> SubscriptionTable:
        counts = Counter(subscription.name for subscription in self.subscriptions)
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate subscription names: {', '.join(duplicates)}")
        return self

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions subscribed, each once, in table order."""
        return tuple(dict.fromkeys(subscription.function for subscription in self.subscriptions))

    def get(self, name: str) -> Subscription:
        """The subscription called ``name``; raises ``KeyError``."""
        for subscription in self.subscriptions:
            if subscription.name == name:
                return subscription
        raise KeyError(name)

    def validate_functions(self, known: Iterable[str]) -> None:
        """Raise :class:`UnknownFunctionsError` if a subscription names a function
        outside ``known`` (all of them are listed at once)."""
        known_set = set(known)
        unknown: dict[str, list[str]] = {}
        for subscription in self.subscriptions:
            if subscription.function not in known_set:
                unknown.setdefault(subscription.function, []).append(subscription.name)
        if unknown:
            raise UnknownFunctionsError(unknown)


def _location(loc: tuple[int | str, ...], data: Any) -> str:
    text = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            label = node.get("name") or node.get("function") if isinstance(node, dict) else None
            if isinstance(label, str):
                text += f" ({label!r})"
        else:
            text += f".{part}" if text else part
            node = node.get(part) if isinstance(node, dict) else None
    return text or "(top level)"


def _problems(error: ValidationError, data: Any) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{_location(tuple(item['loc']), data)}: {message}")
    return problems


def load_yaml(path: str | os.PathLike[str]) -> SubscriptionTable:
    """The table in a YAML file (``subscriptions: [...]``, or a bare list of them).

    Raises :class:`SubscriptionFileError` naming the file and every problem found.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubscriptionFileError(file, [f"cannot read the file: {exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SubscriptionFileError(file, [f"not valid YAML: {exc}"]) from exc
    if isinstance(data, list):
        data = {"subscriptions": data}
    if not isinstance(data, dict):
        found = "an empty document" if data is None else type(data).__name__
        raise SubscriptionFileError(
            file, [f"expected a mapping with a 'subscriptions' list, found {found}"]
        )
    try:
        return SubscriptionTable.model_validate(data)
    except ValidationError as exc:
        raise SubscriptionFileError(file, _problems(exc, data)) from exc
