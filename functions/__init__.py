"""Example functions that ``eventfn dev`` serves by default.

Importing this package registers every example with ``@function``:

* :mod:`functions.orders`: ``order-logger``, ``order-validator`` (replies,
  ``PermanentError``);
* :mod:`functions.fulfilment`: ``order-invoicing`` (idempotent, typed data) and
  ``shipping-notifier`` (``async def``), the fan-out of ``com.example.order.validated``;
* :mod:`functions.review`: ``order-review`` (a CESQL subscription);
* :mod:`functions.payments`: ``payment-capture`` (the dead-letter paths);
* :mod:`functions.reports`: ``sales-report`` (a background job invoked directly, typed
  data, retries with backoff).

docs/tutorial.md walks through them.
"""

# The registry keeps registration order, which is the order tools list functions in
# (eventfn dev's banner, eventfn status): the head of the pipeline comes first.
# isort: off
from functions import orders
from functions import fulfilment, review, payments, reports

# isort: on

__all__ = ["fulfilment", "orders", "payments", "reports", "review"]
