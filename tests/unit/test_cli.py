"""The ``eventfn`` command line: every subcommand has --help; bad brokers give one line."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*EVENTFN, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


COMMANDS = sorted(ep.name for ep in entry_points(group="eventfn.commands"))


def test_root_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_subcommand_help(name: str) -> None:
    result = run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert f"Usage: eventfn {name}" in result.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("amqp://guest:secret@127.0.0.1:1//", "Connection refused"),
        ("redis://127.0.0.1:1/0", "refused"),
        ("kafka://127.0.0.1:9092", "unsupported scheme 'kafka'"),
    ],
)
@pytest.mark.parametrize(
    "args", [["publish", "--type", "t"], ["bridge"], ["worker", "order-logger"]]
)
def test_wrong_broker_url_is_one_line_naming_url_and_cause(
    url: str, expected: str, args: list[str]
) -> None:
    result = run(*args, "--broker", url)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr, "the password must be masked"
    host = url.rsplit("@", maxsplit=1)[-1].rsplit("//", maxsplit=1)[-1].split("/", maxsplit=1)[0]
    assert host.split(":")[0] in lines[0]


def test_unknown_function_is_refused() -> None:
    result = run("worker", "no-such-function")
    assert result.returncode == 1
    assert "unknown function 'no-such-function'" in result.stderr
    assert "order-logger" in result.stderr


# A plain install has no extras: the same commands with the k8s extra's modules made
# unimportable (tox's `userproject` env also runs them in a venv without any extra).
WITHOUT_K8S = [
    sys.executable,
    "-c",
    "import sys, importlib.abc\n"
    "class Block(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.split('.')[0] in ('kubernetes', 'kubernetes_validate'):\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
    "sys.meta_path.insert(0, Block())\n"
    "from broker_bridge.cli import main; main()",
]


def run_without_k8s(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WITHOUT_K8S, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("args", [[], *([name] for name in COMMANDS)])
def test_help_works_without_the_k8s_extra(args: list[str]) -> None:
    result = run_without_k8s(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: eventfn" in result.stdout


def test_a_command_needing_an_extra_says_which_in_one_line() -> None:
    result = run_without_k8s("operator")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: eventfn operator needs the 'k8s' extra (no module named 'kubernetes'): "
        "pip install 'eventfn[k8s]'"
    ]


def test_a_missing_user_module_is_not_blamed_on_an_extra() -> None:
    result = run_without_k8s("autoscale", "--functions", "no_such_module_here")
    assert result.returncode == 1
    assert "extra" not in result.stderr
    assert "no_such_module_here" in result.stderr
