"""The exception tree of eventfn and of the ``broker_bridge`` package.

Every error eventfn raises derives from :class:`EventfnError`; each package has one
base below it, and leaves also inherit the builtin they mean::

    EventfnError
    └── BridgeError                      (broker_bridge)
        ├── ConfigurationError (ValueError)
        ├── BrokerUnavailable (ConnectionError)
        ├── PublishError
        └── ... (see the modules that raise them)

``worker_runtime.errors`` and ``k8s.errors`` hang their own bases under
:class:`EventfnError`.
"""

from __future__ import annotations

__all__ = [
    "BridgeError",
    "BrokerUnavailable",
    "ConfigurationError",
    "EventfnError",
    "PublishError",
]


class EventfnError(Exception):
    """Root of every error raised by eventfn."""


class BridgeError(EventfnError):
    """Base of the errors raised by ``broker_bridge``."""


class ConfigurationError(BridgeError, ValueError):
    """A setting has a value eventfn cannot use (names the setting and the value)."""


class BrokerUnavailable(BridgeError, ConnectionError):
    """The broker could not be reached; carries the URL (password masked) and the cause."""

    def __init__(self, url: str, cause: BaseException | str) -> None:
        self.url = url
        self.cause = cause
        super().__init__(f"cannot reach broker {url}: {cause}")


class PublishError(BridgeError):
    """A publish was not confirmed by the broker within the configured bounds."""
