"""The retry policy of a function (``Retry``): how many attempts, how far apart."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Retry"]


class Retry(BaseModel):
    """``max_attempts`` counts every call, the first included; delays in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=3, ge=1, le=1000)
    backoff: Literal["exponential", "linear", "constant"] = "exponential"
    delay: float = Field(default=1.0, ge=0)
    max_delay: float = Field(default=60.0, ge=0)
    jitter: float = Field(default=0.1, ge=0, le=1, description="+/- fraction of the delay")

    @model_validator(mode="after")
    def _delay_within_cap(self) -> Retry:
        if self.max_delay < self.delay:
            raise ValueError(f"max_delay ({self.max_delay}) is below delay ({self.delay})")
        return self

    def delay_before(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before ``attempt`` (2 for the first retry), capped and jittered."""
        retries = max(attempt - 1, 1)
        base: float
        if self.backoff == "exponential":
            base = self.delay * float(2 ** (retries - 1))
        elif self.backoff == "linear":
            base = self.delay * retries
        else:
            base = self.delay
        base = min(base, self.max_delay)
        if self.jitter:
            spread = base * self.jitter
            base += (rng or random).uniform(-spread, spread)
        return max(0.0, min(base, self.max_delay))
