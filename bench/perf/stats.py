"""Percentiles and summaries of latency samples, as every section reports them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of the samples; 0.0 for none."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(samples: Sequence[float], *, digits: int = 3) -> dict[str, float | int]:
    """Count, p50, p95, p99, mean and max of millisecond samples."""
    return {
        "count": len(samples),
        "p50_ms": round(percentile(samples, 50), digits),
        "p95_ms": round(percentile(samples, 95), digits),
        "p99_ms": round(percentile(samples, 99), digits),
        "mean_ms": round(statistics.fmean(samples), digits) if samples else 0.0,
        "max_ms": round(max(samples), digits) if samples else 0.0,
    }
