"""A real eventfn ingress (uvicorn) in a thread on a free loopback port, for tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from broker_bridge.config import Settings
from broker_bridge.ingress.server import build_server
from broker_bridge.transport import sqlite
from worker_runtime.testing import wait_until

__all__ = ["running_ingress"]


@contextmanager
def running_ingress(broker_url: str, *, functions: Any = None, **settings: Any) -> Iterator[str]:
    """A real uvicorn ingress on a free 127.0.0.1 port, in a thread; yields its URL."""
    sqlite.register()
    config = Settings(broker_url=broker_url, ingress_host="127.0.0.1", ingress_port=0, **settings)
    server = build_server(config, functions=functions)
    thread = threading.Thread(target=server.run, name="ingress", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), timeout=60)
        assert server.started, "the ingress server did not start"
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=120)
        assert not thread.is_alive(), "the ingress server did not stop"
