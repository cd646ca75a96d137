"""Load the functions a command serves: a module name (``functions``) or a ``.py`` file.

Used by ``eventfn worker``, ``bridge`` and ``dev`` (``--functions``). Importing the
module runs its ``@function`` decorators into the current registry.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from worker_runtime.errors import FunctionLoadError
from worker_runtime.registry import Registry, current_registry

__all__ = ["DEFAULT_FUNCTIONS", "load_functions"]

DEFAULT_FUNCTIONS = "functions"


def load_functions(spec: str = DEFAULT_FUNCTIONS) -> Registry:
    """Import each comma-separated module or file in ``spec``; return the registry."""
    for item in filter(None, (part.strip() for part in spec.split(","))):
        _load_one(item)
    return current_registry()


def _load_one(item: str) -> None:
    try:
        if item.endswith(".py") or "/" in item:
            path = Path(item).resolve()
            if not path.is_file():
                raise FunctionLoadError(f"functions file {item!r} does not exist")
            module_name = f"eventfn_user_{path.stem}"
            if module_name in sys.modules:
                return
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            if module_spec is None or module_spec.loader is None:
                raise FunctionLoadError(f"cannot load functions file {item!r}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module
            module_spec.loader.exec_module(module)
        else:
            if str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            importlib.import_module(item)
    except FunctionLoadError:
        raise
    except Exception as exc:
        raise FunctionLoadError(f"cannot load functions {item!r}: {exc}") from exc
