"""A user's project tests its functions with nothing but the installed eventfn.

tests/fixtures/userproject is a sample project (its own functions module, tests
using only the plugin's fixtures, a tox.ini with a fast and a RabbitMQ tier). It
is copied out of the repository and its tests are run by ``python -m pytest`` in
a clean environment: no PYTHONPATH, no eventfn source tree next to it, the
plugin found through its ``pytest11`` entry point, run as the ``pytest`` script does
(as tox runs it: the current directory is not on ``sys.path``, so ``import myfuncs``
in a test module works only because the plugin puts the rootdir there).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

USER_PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "userproject"

#: What the ``pytest`` console script runs (``python -m pytest`` would add the cwd).
PYTEST_SCRIPT = [sys.executable, "-P", "-c", "import sys, pytest; sys.exit(pytest.console_main())"]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def run_user_tests(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    project = tmp_path / "userproject"
    shutil.copytree(USER_PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    clean_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    done = subprocess.run(
        [*PYTEST_SCRIPT, "-p", "no:cacheprovider", "-q", "-rA", *args],
        cwd=project,
        env=clean_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=540,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_the_fast_tier_passes_on_the_installed_package(tmp_path: Path) -> None:
    output = run_user_tests(tmp_path, "-m", "not rabbitmq")
    assert "4 passed, 1 deselected" in output
    assert "PASSED tests/test_thumbnails.py::test_a_storage_hiccup_is_retried" in output


@pytest.mark.rabbitmq
def test_the_rabbitmq_tier_passes_on_real_processes(tmp_path: Path, rabbitmq_url: str) -> None:
    broker = {"EVENTFN_TEST_BROKER_URL": rabbitmq_url}
    output = run_user_tests(tmp_path, "-m", "rabbitmq", env=broker)
    assert "1 passed, 4 deselected" in output
    passed = "PASSED tests/test_thumbnails_rabbitmq.py::test_uploads_flow_through_real_workers"
    assert passed in output
