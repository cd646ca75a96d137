"""Bearer-token authentication of ingress requests.

Called by the ingress app before it reads a body. With no token configured
(``EVENTFN_INGRESS_TOKEN`` unset) every request passes; with one, a request needs
``Authorization: Bearer <token>``, compared in constant time. ``/healthz``,
``/readyz`` and ``/metrics`` stay open for probes and scrapers. A token that is
set but empty or whitespace (a Secret whose key is empty) is a configuration
error at start-up, never "auth off".
"""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from broker_bridge.errors import ConfigurationError

__all__ = ["TokenCheck"]


class TokenCheck:
    """Decides whether an ``Authorization`` header carries the configured token."""

    def __init__(self, token: SecretStr | str | None) -> None:
        value = token.get_secret_value() if isinstance(token, SecretStr) else token
        if value is not None and not value.strip():
            raise ConfigurationError(
                "EVENTFN_INGRESS_TOKEN is set but empty or whitespace; set a token, or unset "
                "the variable to run without authentication"
            )
        self._token = value.encode("utf-8") if value else None

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def problem(self, authorization: str | None) -> str | None:
        """None when the request may pass, else what is wrong (for the 401 detail)."""
        if self._token is None:
            return None
        if not authorization:
            return "this ingress requires an 'Authorization: Bearer <token>' header"
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return "the Authorization header must use the Bearer scheme"
        given = credentials.strip().encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._token):
            return "the bearer token is not valid"
        return None
