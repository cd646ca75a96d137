"""Load a functions module once per test session into a registry of its own.

The harnesses need exactly the functions of one module (``eventfn_functions``).
A module is imported once per process, and its ``@function`` decorators register
into whatever registry was current then: usually a fresh one made here, but when a
test module imported it first (``from myfuncs import resize``), the functions are
in the current registry, and are picked out of it by the file they live in. The
handler objects are then the ones the test imported, so module state a test
inspects is the state the handlers changed.
"""

from __future__ import annotations

import inspect
import sys
import threading
from pathlib import Path
from types import ModuleType

from worker_runtime.errors import FunctionLoadError
from worker_runtime.loading import load_functions
from worker_runtime.registry import FunctionSpec, Registry, current_registry, use_registry

__all__ = ["import_roots", "is_path", "registry_for", "resolve_functions"]

_lock = threading.Lock()
_loaded: dict[str, Registry] = {}


def is_path(item: str) -> bool:
    return item.endswith(".py") or "/" in item


def _items(spec: str) -> list[str]:
    return [part.strip() for part in spec.split(",") if part.strip()]


def resolve_functions(spec: str, root: Path) -> str:
    """``spec`` with relative .py paths made absolute (against ``root``, else the cwd)."""
    out: list[str] = []
    for item in _items(spec):
        if is_path(item) and not Path(item).is_absolute():
            candidate = root / item
            out.append(str(candidate.resolve() if candidate.exists() else Path(item).resolve()))
        else:
            out.append(item)
    return ",".join(out)


def _module_for(item: str) -> ModuleType | None:
    if not is_path(item):
        return sys.modules.get(item)
    path = Path(item).resolve()
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None)
        if origin and Path(origin).resolve() == path:
            return module
    return None


def _files_of(module: ModuleType) -> tuple[set[Path], list[Path]]:
    origin = getattr(module, "__file__", None)
    files = {Path(origin).resolve()} if origin else set()
    dirs = [Path(p).resolve() for p in getattr(module, "__path__", [])]
    return files, dirs


def _defined_in(spec: FunctionSpec, files: set[Path], dirs: list[Path]) -> bool:
    try:
        source = inspect.getsourcefile(inspect.unwrap(spec.handler))
    except TypeError:
        return False
    if source is None:
        return False
    path = Path(source).resolve()
    return path in files or any(path.is_relative_to(d) for d in dirs)


def registry_for(spec: str) -> Registry:
    """The functions ``spec`` (comma-separated modules or .py paths) registers."""
    with _lock:
        cached = _loaded.get(spec)
        if cached is not None:
            return cached
        with use_registry() as fresh:
            load_functions(spec)
        registry = Registry()
        for function_spec in fresh:  # what this import registered
            registry.register(function_spec)
        for item in _items(spec):  # what an earlier import registered elsewhere
            module = _module_for(item)
            if module is None:
                raise FunctionLoadError(f"functions {item!r} were not loaded")
            files, dirs = _files_of(module)
            for function_spec in current_registry():
                if function_spec.name not in registry and _defined_in(function_spec, files, dirs):
                    registry.register(function_spec)
        if not len(registry):
            raise FunctionLoadError(f"no @function is registered by {spec!r}")
        _loaded[spec] = registry
        return registry


def import_roots(spec: str) -> list[str]:
    """The sys.path entries a subprocess needs to import ``spec``'s modules as we did."""
    roots: list[str] = []
    for item in _items(spec):
        if is_path(item):
            continue
        module = sys.modules.get(item)
        origin = getattr(module, "__file__", None)
        if not origin:
            continue
        root = Path(origin).resolve().parent
        depth = item.count(".") + (1 if Path(origin).name == "__init__.py" else 0)
        for _ in range(depth):
            root = root.parent
        if str(root) not in roots:
            roots.append(str(root))
    return roots
