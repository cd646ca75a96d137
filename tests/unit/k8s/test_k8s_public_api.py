"""The k8s packages' public surfaces: explicit, importable; errors in their tree."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import k8s
from broker_bridge.errors import EventfnError

PACKAGES = [
    "k8s",
    "k8s.scaling",
    "k8s.render",
    "k8s.metrics",
    "k8s.autoscaler",
    "k8s.actuators",
    "k8s.client",
    "k8s.operator",
    "k8s.dev",
    "k8s.dev.view",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_explicit_and_importable(name):
    # (ruff's RUF022 keeps the order; here: no duplicates, nothing missing, nothing private)
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__)
    assert not [exported for exported in module.__all__ if exported.startswith("_")]
    for exported in module.__all__:
        assert getattr(module, exported) is not None


@pytest.mark.parametrize(
    "name",
    [
        m.name
        for pkg in (
            "k8s.scaling",
            "k8s.render",
            "k8s.metrics",
            "k8s.autoscaler",
            "k8s.actuators",
            "k8s.client",
            "k8s.operator",
            "k8s.commands",
            "k8s.dev",
            "k8s.dev.view",
        )
        for m in pkgutil.iter_modules(importlib.import_module(pkg).__path__, prefix=f"{pkg}.")
    ]
    + [
        "k8s.errors",
        "k8s.model",
        "k8s.registry",
        "k8s.dev.autoscaling",
        "k8s.cluster",
        "k8s.kubeconfig",
        "k8s.subscription_source",
    ],
)
def test_every_module_declares_all_and_a_docstring(name):
    module = importlib.import_module(name)
    assert module.__doc__
    assert module.__doc__.strip()
    assert isinstance(module.__all__, list)


def test_errors_hang_under_eventfn_error():
    assert issubclass(k8s.K8sError, EventfnError)
    assert issubclass(k8s.InvalidResource, ValueError)
    for leaf in (k8s.ApiClientError, k8s.ApiServerError):
        assert issubclass(leaf, k8s.ApiError)
    assert issubclass(k8s.ApiConflict, k8s.ApiClientError)
    assert issubclass(k8s.MetricsUnavailable, ConnectionError)
    error = k8s.ApiClientError("deployments/x/scale", 404, "NotFound")
    assert (error.status, error.target) == (404, "deployments/x/scale")
    assert "404 NotFound" in str(error)
    assert "no answer" in str(k8s.ApiServerError("x", None, "refused"))
