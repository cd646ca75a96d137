"""Where the ingress of ``eventfn dev`` listens: checking the port before starting,
the URL shown to the user, and whether it answers yet."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from broker_bridge.errors import ConfigurationError

__all__ = ["ingress_url", "listening", "reserve_port", "url_host"]

#: HTTP without the environment's proxies (the probe goes to our own loopback ingress).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def reserve_port(host: str, port: int) -> int:
    """``port`` if it can be bound on ``host`` (a free one for 0); else a clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "choose another port with --port"
            ) from exc
        return int(sock.getsockname()[1])


def url_host(host: str) -> str:
    """The host part of a URL reaching an ingress bound on ``host``."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - shown to the user, not bound
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def ingress_url(host: str, port: int) -> str:
    return f"http://{url_host(host)}:{port}"


def listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether the ingress answers ``GET /healthz`` with 200 now."""
    try:
        with _DIRECT.open(f"{ingress_url(host, port)}/healthz", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
