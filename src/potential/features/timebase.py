"""Shared time arithmetic: timestamps as float days since the epoch, so windows are cheap array masks."""

from __future__ import annotations

import numpy as np
import pandas as pd

EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
DAY_NS = 86_400 * 1_000_000_000


def to_days(values: pd.Series | np.ndarray) -> np.ndarray:
    """Float days since 1970-01-01 (fractional for times of day); NaT -> NaN."""
    arr = np.asarray(values, dtype="datetime64[ns]")
    out = arr.view(np.int64).astype(np.float64)  # nanoseconds since the epoch (EPOCH is 0), one copy
    out /= DAY_NS
    out[np.isnat(arr)] = np.nan
    return out


def day_of(as_of: pd.Timestamp) -> float:
    return float((np.datetime64(pd.Timestamp(as_of).to_datetime64(), "ns") - EPOCH).astype("int64") / DAY_NS)


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0 and the ratio is finite, else NaN (no division warnings)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = den > 0
    with np.errstate(over="ignore"):
        np.divide(num, den, out=out, where=ok)
    # a denominator so small that the ratio overflows (a subnormal amount) tells nothing
    out[np.isinf(out)] = np.nan
    return out


def rel_change(current: np.ndarray, previous: np.ndarray, cap: float = 5.0) -> np.ndarray:
    """(current - previous) / previous, NaN where there was no previous spend, capped at +cap."""
    return np.minimum(safe_ratio(np.asarray(current) - np.asarray(previous), previous), cap)
