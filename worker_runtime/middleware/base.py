"""The middleware contract: wrap ``call_next``; do nothing by default.

Called by :mod:`worker_runtime.execution`, which composes a chain once per
function at worker start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from worker_runtime.context import Invocation, Result

__all__ = ["Middleware", "Next", "compose"]

#: The rest of the chain: takes the invocation, returns its result.
Next = Callable[[Invocation], Result]


class Middleware:
    """A do-nothing middleware; subclasses override :meth:`__call__`."""

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        return call_next(invocation)


def compose(middlewares: Sequence[Middleware], core: Next) -> Next:
    """One callable running ``middlewares`` (outermost first) around ``core``."""
    chain = core
    for middleware in reversed(middlewares):
        chain = _bind(middleware, chain)
    return chain


def _bind(middleware: Middleware, call_next: Next) -> Next:
    def step(invocation: Invocation) -> Result:
        return middleware(invocation, call_next)

    return step
