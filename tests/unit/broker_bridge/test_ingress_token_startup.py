"""An empty or whitespace ingress token is refused at start-up, never "auth off"."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from broker_bridge.errors import ConfigurationError
from broker_bridge.ingress.auth import TokenCheck


@pytest.mark.parametrize("token", ["", " ", "\t\n"])
def test_an_empty_or_blank_token_is_a_configuration_error(token: str) -> None:
    with pytest.raises(ConfigurationError, match="EVENTFN_INGRESS_TOKEN is set but empty"):
        TokenCheck(SecretStr(token))


def test_no_token_means_no_auth_and_a_token_means_auth() -> None:
    assert not TokenCheck(None).enabled
    assert TokenCheck(SecretStr("t0k")).enabled


def test_eventfn_ingress_exits_with_one_line(tmp_path: object) -> None:
    env = {**os.environ, "EVENTFN_INGRESS_TOKEN": "  ", "EVENTFN_STATE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "broker_bridge.cli", "ingress", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert errors[-1].startswith("Error: EVENTFN_INGRESS_TOKEN is set but empty")
