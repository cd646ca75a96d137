"""A loopback TCP proxy under the test's control: pass, blackhole, delay, reset, slow.

Put it between eventfn processes and the broker (``proxy.url_for(broker_url)``) and
switch its mode while they run::

    with FaultProxy("127.0.0.1", node.port) as proxy:
        url = proxy.url_for(node_url)
        ...                              # processes use url
        proxy.blackhole()                # bytes stop flowing both ways, sockets stay open
        proxy.passthrough()              # held bytes are dropped; flow resumes
        proxy.reset()                    # every open connection is reset (RST)
        proxy.delay(0.5)                 # each chunk is held 0.5 s
        proxy.slow(1024)                 # at most 1 KiB/s each way per connection

Blackhole is what a partition or a load balancer dropping a flow looks like: no FIN,
no RST, the peer just goes silent. New connections are accepted and then starved
too, as a dead route would. One thread, ``selectors``; only 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
import time
from collections import deque
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

__all__ = ["FaultProxy"]

_CHUNK = 65536


class _Pipe:
    """One proxied connection: client socket, upstream socket, bytes in flight."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        # (due time, bytes) per direction
        self.to_upstream: deque[tuple[float, bytes]] = deque()
        self.to_client: deque[tuple[float, bytes]] = deque()
        self.budget = {id(client): 0.0, id(upstream): 0.0}


class FaultProxy:
    """A TCP proxy from a free loopback port to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._mode = "pass"
        self._delay = 0.0
        self._rate = 0.0
        self._pipes: list[_Pipe] = []
        self._reset_requested = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self.connections = 0  # accepted so far

    # -- control -------------------------------------------------------------------
    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{self.port}"))

    @property
    def mode(self) -> str:
        return self._mode

    def _set(self, mode: str, delay: float = 0.0, rate: float = 0.0) -> None:
        with self._lock:
            self._mode, self._delay, self._rate = mode, delay, rate

    def passthrough(self) -> None:
        """Forward everything again (what was held during a blackhole is dropped)."""
        with self._lock:
            if self._mode == "blackhole":
                for pipe in self._pipes:
                    pipe.to_upstream.clear()
                    pipe.to_client.clear()
        self._set("pass")

    def blackhole(self) -> None:
        """Stop forwarding both ways; connections stay open and silent."""
        self._set("blackhole")

    def delay(self, seconds: float) -> None:
        """Hold every chunk ``seconds`` before forwarding it."""
        self._set("delay", delay=seconds)

    def slow(self, bytes_per_second: float) -> None:
        """Forward at most ``bytes_per_second`` each way on each connection."""
        self._set("slow", rate=bytes_per_second)

    def reset(self) -> None:
        """Reset (RST) every open connection now; new ones are accepted as before."""
        with self._lock:
            self._reset_requested = True
        deadline = time.monotonic() + 5
        while self._reset_requested and time.monotonic() < deadline:
            time.sleep(0.01)

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self._listener.close()
        for pipe in self._pipes:
            self._close_pipe(pipe, rst=False)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the loop ------------------------------------------------------------------
    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector = selector
        while not self._stop.is_set():
            with self._lock:
                if self._reset_requested:
                    for pipe in list(self._pipes):
                        self._close_pipe(pipe, rst=True)
                    self._reset_requested = False
                mode, delay, rate = self._mode, self._delay, self._rate
            if mode == "blackhole":
                # leave the bytes in the kernel: the peers see silence; still accept
                self._accept()
                time.sleep(0.01)
                continue
            for key, _events in selector.select(timeout=0.01):
                if key.data is None:
                    self._accept()
                    continue
                self._read(key.data, key.fileobj, delay)  # type: ignore[arg-type]
            self._flush(mode, rate)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:  # BlockingIOError: nobody is waiting
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pipe = _Pipe(client, upstream)
        with self._lock:
            self._pipes.append(pipe)
            self.connections += 1
        self._selector.register(client, selectors.EVENT_READ, pipe)
        self._selector.register(upstream, selectors.EVENT_READ, pipe)

    def _read(self, pipe: _Pipe, sock: socket.socket, delay: float) -> None:
        try:
            data = sock.recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_pipe(pipe, rst=False)
            return
        target = pipe.to_upstream if sock is pipe.client else pipe.to_client
        target.append((time.monotonic() + delay, data))

    def _flush(self, mode: str, rate: float) -> None:
        if mode == "blackhole":
            return
        now = time.monotonic()
        for pipe in list(self._pipes):
            for queue, sock in ((pipe.to_upstream, pipe.upstream), (pipe.to_client, pipe.client)):
                while queue and queue[0][0] <= now:
                    due, data = queue[0]
                    if mode == "slow" and rate > 0:
                        allowed = int(pipe.budget[id(sock)] + rate * 0.01)
                        pipe.budget[id(sock)] = min(pipe.budget[id(sock)] + rate * 0.01, rate)
                        if allowed <= 0:
                            break
                        data = data[:allowed]
                    try:
                        sent = sock.send(data)
                    except BlockingIOError:
                        break
                    except OSError:
                        self._close_pipe(pipe, rst=False)
                        break
                    if mode == "slow" and rate > 0:
                        pipe.budget[id(sock)] -= sent
                    if sent < len(queue[0][1]):
                        queue[0] = (due, queue[0][1][sent:])
                        break
                    queue.popleft()

    def _close_pipe(self, pipe: _Pipe, *, rst: bool) -> None:
        with contextlib.suppress(ValueError):
            self._pipes.remove(pipe)
        for sock in (pipe.client, pipe.upstream):
            with contextlib.suppress(Exception):
                self._selector.unregister(sock)
            if rst:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.close()
