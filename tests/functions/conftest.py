"""The tests of the example functions (``functions/``), one module per example.

pytest puts ``tests/`` on ``sys.path`` (its conftest has no ``__init__.py``), where
this very directory, ``tests/functions``, would be imported as a namespace package
named ``functions`` before the editable install's finder is asked. With the project
root on ``sys.path`` as well, the real (regular) package wins: a regular package is
preferred over namespace portions wherever they stand on the path. ``eventfn``
commands do the same with the working directory (``worker_runtime.loading``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)
_shadow = sys.modules.get("functions")
if _shadow is not None and getattr(_shadow, "__file__", None) is None:
    del sys.modules["functions"]  # imported as the namespace package before we got here
