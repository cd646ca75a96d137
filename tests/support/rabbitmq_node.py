"""A private RabbitMQ node for tests that stop and start their broker.

Tests that must take a broker down (reconnect, "broker stopped during a stream of
requests") cannot stop the shared RabbitMQ on 5672 that every other test uses, so
they run their own node: its own name, AMQP and distribution ports on 127.0.0.1,
and its own data folder (so durable queues and persistent messages survive a
:meth:`RabbitMQNode.stop` / :meth:`RabbitMQNode.start` cycle)::

    from support.rabbitmq_node import RabbitMQNode

    with RabbitMQNode() as node:          # started; stopped and deleted on exit
        publish(node.url)
        node.stop()                       # the broker is down (port refuses)
        node.start()                      # same port, same data

Needs ``rabbitmq-server`` and ``rabbitmqctl`` (Debian's wrappers, run as root:
they switch to the ``rabbitmq`` user and its Erlang cookie). :func:`node_or_skip`
skips the test locally when that is missing, and fails it in CI like every broker
test (as ``conftest.require`` does). The node is always stopped on exit, killed by its pid
if ``rabbitmqctl stop`` does not manage, and its folder removed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

__all__ = ["NodeFailed", "RabbitMQNode", "node_or_skip", "rabbitmq_node_available"]

_USER = "rabbitmq"
_START_TIMEOUT = 120.0


class NodeFailed(RuntimeError):
    """The node did not start or stop; carries the tail of its log."""


def rabbitmq_node_available() -> tuple[bool, str]:
    """Whether this machine can run a private node, and if not why."""
    for tool in ("rabbitmq-server", "rabbitmqctl"):
        if shutil.which(tool) is None:
            return False, f"{tool} is not installed"
    if os.geteuid() != 0:
        return False, "starting a RabbitMQ node needs root (the wrappers switch to 'rabbitmq')"
    try:
        pwd.getpwnam(_USER)
    except KeyError:
        return False, "there is no 'rabbitmq' user"
    return True, ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class RabbitMQNode:
    """One private RabbitMQ node on 127.0.0.1 (see the module docstring)."""

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or f"eventfn-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = _free_port()
        self.dist_port = _free_port()
        while self.dist_port == self.port:
            self.dist_port = _free_port()
        # /tmp itself, not pytest's tmp_path: the rabbitmq user must reach the folder
        self.base = Path(tempfile.mkdtemp(prefix="eventfn-rabbitmq-"))
        self.base.chmod(0o755)
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir()
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            "log.console = false\n"
        )
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq-env.conf").write_text("")
        entry = pwd.getpwnam(_USER)
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.running = False

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    @property
    def pid_file(self) -> Path:
        return self.base / "rabbitmq.pid"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def _ctl(self, *args: str, timeout: float = _START_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["rabbitmqctl", "-n", self.name, *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log_tail(self, chars: int = 3000) -> str:
        logs = sorted((self.base / "log").glob("*.log"))
        return "\n".join(path.read_text(errors="replace")[-chars:] for path in logs)

    def start(self) -> RabbitMQNode:
        """Start the node (again) and return once it accepts AMQP connections."""
        subprocess.run(
            ["rabbitmq-server", "-detached"],
            env=self._env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        self.running = True
        waited = self._ctl("wait", str(self.pid_file), "--timeout", str(int(_START_TIMEOUT)))
        if waited.returncode != 0:
            raise NodeFailed(
                f"node {self.name} did not start: {waited.stdout}{waited.stderr}\n{self.log_tail()}"
            )
        deadline = time.monotonic() + 30
        while not _port_open(self.port):
            if time.monotonic() > deadline:
                raise NodeFailed(f"node {self.name} never opened port {self.port}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """Stop the node gracefully (persistent messages are kept); kill it if need be."""
        if not self.running:
            return
        result = self._ctl("stop", str(self.pid_file), timeout=90)
        if result.returncode != 0:
            self._kill()
        self.running = False

    def kill(self) -> None:
        """Kill the node abruptly (SIGKILL), as a crash would."""
        self._kill()
        self.running = False

    def _kill(self) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(self.pid_file.read_text().strip()), signal.SIGKILL)

    def close(self) -> None:
        """Stop the node and delete its folder (always safe to call)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> RabbitMQNode:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def node_or_skip() -> Iterator[RabbitMQNode]:
    """A started private node; skips the test locally (fails it in CI) when impossible.

    Use it in a fixture::

        @pytest.fixture
        def rabbitmq_node():
            with node_or_skip() as node:
                yield node
    """
    import pytest

    available, why = rabbitmq_node_available()
    if not available:
        # as conftest.require: a broker test must never pass by skipping in CI
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"a private RabbitMQ node is not available ({why}) and CI=true")
        pytest.skip(f"a private RabbitMQ node is not available ({why})")
    with RabbitMQNode() as node:
        yield node
