"""Royalty model: distributions (see the package docstring and docs/royalty.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dist:
    """A scenario quantity: fixed, uniform(low, high) or triangular(low, mode, high)."""

    kind: str
    params: tuple[float, ...]
    name: str = ""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "fixed":
            return np.full(n, self.params[0])
        if self.kind == "uniform":
            return rng.uniform(self.params[0], self.params[1], n)
        lo, mode, hi = self.params
        if hi == lo:
            return np.full(n, lo)
        return rng.triangular(lo, mode, hi, n)

    def quantile(self, q: float) -> float:
        if self.kind == "fixed":
            return self.params[0]
        if self.kind == "uniform":
            lo, hi = self.params
            return lo + q * (hi - lo)
        lo, mode, hi = self.params
        if hi == lo:
            return lo
        f = (mode - lo) / (hi - lo)
        if q < f:
            return lo + math.sqrt(q * (hi - lo) * (mode - lo))
        return hi - math.sqrt((1 - q) * (hi - lo) * (hi - mode))

    @property
    def uncertain(self) -> bool:
        return self.kind != "fixed" and len(set(self.params)) > 1


