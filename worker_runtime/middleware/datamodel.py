"""Typed data: validate the event's data against the function's ``data_model``.

On success the handler receives the event with ``get_data()`` returning the model
instance; invalid data is a permanent failure (:class:`InvalidEventData`, carrying
pydantic's errors), dead-lettered at once, never retried.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from broker_bridge.event import StrictCloudEvent, has_data
from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.errors import PermanentError
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["DataModel", "InvalidEventData", "validate_data"]


class InvalidEventData(PermanentError, ValueError):
    """The event's data does not fit the function's ``data_model``."""

    def __init__(self, function: str, errors: list[dict[str, Any]], text: str) -> None:
        self.function = function
        self.errors = errors
        super().__init__(f"event data is invalid for {function!r}: {text}")


def validate_data(model: type[BaseModel], data: Any) -> BaseModel:
    """``data`` (JSON value, JSON text or bytes) as an instance of ``model``."""
    if isinstance(data, str | bytes):
        return model.model_validate_json(data)
    return model.model_validate(data)


class DataModel(Middleware):
    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        model = invocation.spec.data_model
        event = invocation.event
        if model is None or event is None:
            return call_next(invocation)
        data = event.get_data() if has_data(event) else None
        try:
            instance = validate_data(model, data)
        except ValidationError as exc:
            errors = [
                {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
                for err in exc.errors()
            ]
            return Result(
                Outcome.FAILED, error=InvalidEventData(invocation.spec.name, errors, str(exc))
            )
        invocation.event = StrictCloudEvent.trusted(dict(event.get_attributes()), instance, True)
        return call_next(invocation)
