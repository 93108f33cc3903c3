"""Random count distributions on top of ``random.Random`` (Python 3.11 has no binomial)."""

from __future__ import annotations

import math
import random


def poisson(*, rng: random.Random, mean: float) -> int:
    """Draw a Poisson count; a rounded normal above mean 30, where it is indistinguishable."""
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    # Knuth's multiplication method: a handful of uniforms for the small means counters see.
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def binomial(*, rng: random.Random, n: int, p: float) -> int:
    """Draw a binomial count of ``n`` trials with probability ``p``; always within 0..n."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n > 50:
        mean = n * p
        draw = round(rng.gauss(mean, math.sqrt(mean * (1.0 - p))))
        return min(n, max(0, draw))
    random_ = rng.random
    return sum(1 for _ in range(n) if random_() < p)


def clamp(value: float, *, low: float, high: float) -> float:
    """Return ``value`` limited to ``low..high``."""
    return low if value < low else high if value > high else value
