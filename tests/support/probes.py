"""Probe an eventfn process's health port as the kubelet would: httpGet, JSON body."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

__all__ = ["free_port", "probe", "wait_probe"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def probe(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, dict[str, Any]]:
    """``(status, body)``; ``(0, {})`` when nothing answers (connection refused, timeout)."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


def wait_probe(port: int, path: str, status: int, timeout: float = 60.0) -> dict[str, Any]:
    """Poll until ``path`` answers ``status``; returns the body (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    last: tuple[int, dict[str, Any]] = (0, {})
    while time.monotonic() < deadline:
        last = probe(port, path)
        if last[0] == status:
            return last[1]
        time.sleep(0.1)
    raise AssertionError(f"{path} on :{port} never answered {status}; last {last}")
