"""Each package's ``__all__`` is its deliberate public surface (httpx-style check)."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["broker_bridge", "worker_runtime", "k8s"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_and_public_attributes_are_listed(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing {item}"
    public = {
        key
        for key, value in vars(module).items()
        if not key.startswith("_")
        and not isinstance(value, types.ModuleType)
        and key not in {"annotations"}
    }
    assert public <= exported, f"{name} exposes names not in __all__: {public - exported}"


def test_exception_tree_has_one_root() -> None:
    from broker_bridge import BridgeError, EventfnError
    from worker_runtime import WorkerError

    assert issubclass(BridgeError, EventfnError)
    assert issubclass(WorkerError, EventfnError)
