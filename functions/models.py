"""The typed data of the order examples (pydantic): orders, invoices, payments.

``Order`` is what ``com.example.order.created`` carries and what the validator
checks; the validated order (``com.example.order.validated``) carries the same
shape, so its subscribers declare ``data_model=Order`` and receive an ``Order``.
Money is ``Decimal`` (JSON numbers in, strings out: ``"9.50"``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["MAX_ORDER_TOTAL", "VAT_RATE", "Invoice", "LineItem", "Money", "Order", "cents"]

#: Orders above this total are refused (and their cents fit a CloudEvents Integer).
MAX_ORDER_TOTAL = Decimal("1000000")
#: The VAT included in every total (the examples sell in one country).
VAT_RATE = Decimal("0.20")

_CENT = Decimal("0.01")


def _to_cents_precision(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT)


#: An amount with at most two decimals, always written with two (``"9.50"``).
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    AfterValidator(_to_cents_precision),
]


def cents(amount: Decimal) -> int:
    """``amount`` in cents, rounded half up."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class LineItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000)
    price: Money


class Order(BaseModel):
    """An order as a shop front publishes it; only ``id`` and ``total`` are required.

    ``payment`` is ``"invoice"`` (pay by bank transfer: nothing to capture) or a card
    token of the demo payment gateway (``tok_visa``, ``tok_declined``,
    ``tok_unavailable``: see :mod:`functions.payments`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int | str
    total: Annotated[Money, Field(gt=0, le=MAX_ORDER_TOTAL)]
    currency: Literal["EUR", "USD", "GBP"] = "EUR"
    customer: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    items: list[LineItem] = Field(default_factory=list, max_length=500)
    payment: str = Field(default="invoice", pattern=r"^(invoice|tok_[A-Za-z0-9_]+)$")

    @property
    def total_cents(self) -> int:
        return cents(self.total)

    def items_total(self) -> Decimal:
        return sum((item.price * item.quantity for item in self.items), Decimal(0))


class Invoice(BaseModel):
    """What ``order-invoicing`` issues (``com.example.invoice.issued``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str
    order_id: int | str
    currency: str
    total: Money
    vat: Money
    payment: str
    customer: str | None = None
