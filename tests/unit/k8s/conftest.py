"""Fixtures of the k8s tests: kubectl (fails in CI when missing, skips locally),
kustomize builds (cached per session), and the CRD validators."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
from _k8s_checks import MANIFESTS, crd_validators

from k8s.render import from_yaml


@pytest.fixture(scope="session")
def kubectl() -> str:
    """kubectl (with kustomize) or: FAIL in CI (CI=true), skip locally."""
    path = shutil.which("kubectl")
    if path is None:
        message = "kubectl is not on PATH (needed for `kubectl kustomize`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def kustomize(kubectl):
    cache: dict[str, list[dict[str, Any]]] = {}

    def build(target: str) -> list[dict[str, Any]]:
        if target not in cache:
            out = subprocess.run(
                [kubectl, "kustomize", str(MANIFESTS / target)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert out.returncode == 0, out.stderr
            cache[target] = from_yaml(out.stdout)
        return cache[target]

    return build


@pytest.fixture(scope="session", name="crd_validators")
def crd_validators_fixture():
    return crd_validators()
