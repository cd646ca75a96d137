"""The CloudEvents JSON format (``application/cloudevents+json``): first cut.

Thin wrapper over the SDK's ``JSONFormat``; every failure becomes
:class:`~broker_bridge.invalid.InvalidEventError`.
"""

from __future__ import annotations



from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.exceptions import BaseCloudEventException, CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from broker_bridge.invalid import InvalidEventError

__all__ = ["CONTENT_TYPE", "from_json", "to_json"]

CONTENT_TYPE = "application/cloudevents+json"
_FORMAT = JSONFormat()


def to_json(event: BaseCloudEvent) -> bytes:
    """Serialize one event in structured JSON."""
    return _FORMAT.write(event)


def from_json(body: bytes | str) -> BaseCloudEvent:
    """Parse one structured JSON event; raise InvalidEventError with every problem."""
    try:
        return _FORMAT.read(CloudEvent, body)
    except CloudEventValidationError as exc:
        problems: dict[str, list[str]] = {
            attr: [str(err) for err in errs] for attr, errs in exc.errors.items()
        }
        raise InvalidEventError(problems) from exc
    except (BaseCloudEventException, ValueError, TypeError, AttributeError) as exc:
        raise InvalidEventError.single("$", f"not a JSON CloudEvent: {exc}") from exc


