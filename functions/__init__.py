"""Example functions that ``eventfn dev`` serves by default.

Importing this package registers every example with ``@function``.
"""

from functions import orders

__all__ = ["orders"]
