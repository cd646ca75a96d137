"""The worker's small shared state: dedupe keys and "handler started" markers.

``open_store(url)`` picks the implementation by URL scheme: ``redis://`` (shared by
every worker; production) or ``sqlite://`` (one file shared by the processes of
one machine; the embedded mode); :class:`MemoryStore` is for tests.
"""

from worker_runtime.state.base import Claim, StateStore
from worker_runtime.state.memory import MemoryStore
from worker_runtime.state.open import open_store, store_url_for

__all__ = ["Claim", "MemoryStore", "StateStore", "open_store", "store_url_for"]
