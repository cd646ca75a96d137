"""Fixtures of the CloudEvents conformance tests."""

from __future__ import annotations

import pytest
from ce_conformance_support import tck_dir


@pytest.fixture(scope="session")
def tck_path():
    path = tck_dir()
    if not (path / "conformance").is_dir():
        pytest.fail(f"CloudEvents TCK not found at {path} (set EVENTFN_TCK_DIR)")
    return path
