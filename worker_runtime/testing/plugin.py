"""eventfn's pytest plugin (entry point ``pytest11: eventfn``): test your functions.

Fixtures (reference in docs/testing.md):

* ``eventfn_functions``: the functions module the harnesses load, a module name
  or a .py path; from ``@pytest.mark.eventfn_functions("mod")``, else the ini
  option ``eventfn_functions`` (default ``functions``). Override the fixture to
  compute it.
* ``eventfn``: the bridge and one worker per function running as threads of the
  test process on an embedded broker in ``tmp_path``
  (:class:`~worker_runtime.testing.inprocess.InProcessHarness`). Fast; retries
  skip their backoff delays (``eventfn.fast_retries``, ini
  ``eventfn_fast_retries``).
* ``eventfn_processes``: real ``eventfn bridge`` and ``eventfn worker NAME``
  subprocesses (:class:`~worker_runtime.testing.multiprocess.ProcessHarness`) on
  the broker of ``--eventfn-broker-url`` or ``EVENTFN_TEST_BROKER_URL``, else an
  embedded broker in ``tmp_path``.

Both have ``publish``, ``send``, ``wait_for``, ``handled``, ``replies``,
``dead_letters`` and ``wait_for_dead_letters``
(:class:`~worker_runtime.testing.harness.Harness`). This module imports nothing
of eventfn until a fixture is used, so it costs nothing in other test runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from worker_runtime.registry import Registry
    from worker_runtime.testing.inprocess import InProcessHarness
    from worker_runtime.testing.multiprocess import ProcessHarness

__all__ = [
    "BROKER_URL_ENV",
    "eventfn",
    "eventfn_functions",
    "eventfn_processes",
    "pytest_addoption",
    "pytest_configure",
]

#: The environment variable naming the broker of ``eventfn_processes``.
BROKER_URL_ENV = "EVENTFN_TEST_BROKER_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eventfn", "eventfn functions testing")
    group.addoption(
        "--eventfn-broker-url",
        dest="eventfn_broker_url",
        metavar="URL",
        default=None,
        help=f"broker of the eventfn_processes fixture (amqp://, redis://; default: "
        f"${BROKER_URL_ENV}, else an embedded broker per test)",
    )
    parser.addini(
        "eventfn_functions",
        "module name or .py path of the @function handlers the eventfn fixtures load",
        default="functions",
    )
    parser.addini(
        "eventfn_fast_retries",
        "run retries at once in the eventfn fixture instead of after their backoff delay",
        type="bool",
        default=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    # before collection: a test module's ``import myfuncs`` resolves from the rootdir
    # (under tox the ``pytest`` script does not put the current directory on sys.path)
    _rootdir_on_path(config)
    config.addinivalue_line(
        "markers",
        "eventfn_functions(module): the functions module (name or .py path) the eventfn "
        "fixtures load for this test, instead of the eventfn_functions ini option",
    )


def _rootdir_on_path(config: pytest.Config) -> Path:
    """Module names resolve from the rootdir too (appended: installed packages win)."""
    root = config.rootpath
    if str(root) not in sys.path:
        sys.path.append(str(root))
    return root


@pytest.fixture
def eventfn_functions(request: pytest.FixtureRequest) -> str:
    """The functions module (name or .py path) the ``eventfn`` fixtures load."""
    marker = request.node.get_closest_marker("eventfn_functions")
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("module")
        if not isinstance(value, str) or not value.strip():
            raise pytest.UsageError(
                "@pytest.mark.eventfn_functions needs a module name or .py path"
            )
        return value
    return str(request.config.getini("eventfn_functions"))


def _loaded(functions: str, config: pytest.Config) -> tuple[str, Registry]:
    # imported on first use: the plugin is loaded by every pytest run in the environment
    from worker_runtime.testing.loading import registry_for, resolve_functions  # noqa: PLC0415

    root = _rootdir_on_path(config)
    resolved = resolve_functions(functions, root)
    return resolved, registry_for(resolved)


@pytest.fixture
def eventfn(
    eventfn_functions: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[InProcessHarness]:
    """The bridge and the workers of ``eventfn_functions`` in threads, on an embedded
    broker in ``tmp_path``."""
    from worker_runtime.testing.inprocess import InProcessHarness  # noqa: PLC0415 - lazy

    _, registry = _loaded(eventfn_functions, request.config)
    fast = bool(request.config.getini("eventfn_fast_retries"))
    with InProcessHarness(registry, tmp_path / "eventfn", fast_retries=fast) as harness:
        yield harness


@pytest.fixture
def eventfn_processes(
    eventfn_functions: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[ProcessHarness]:
    """Real ``eventfn bridge`` and ``eventfn worker NAME`` processes for
    ``eventfn_functions`` on ``--eventfn-broker-url`` / ``$EVENTFN_TEST_BROKER_URL``
    (default: an embedded broker in ``tmp_path``)."""
    from worker_runtime.testing.loading import import_roots  # noqa: PLC0415 - lazy
    from worker_runtime.testing.multiprocess import ProcessHarness  # noqa: PLC0415 - lazy

    resolved, registry = _loaded(eventfn_functions, request.config)
    url = request.config.getoption("eventfn_broker_url") or os.environ.get(BROKER_URL_ENV)
    roots = [*import_roots(resolved), str(request.config.rootpath)]
    harness = ProcessHarness(
        registry,
        resolved,
        tmp_path / "eventfn",
        broker_url=url or None,
        cwd=Path.cwd(),
        python_path=roots,
    )
    with harness:
        yield harness
