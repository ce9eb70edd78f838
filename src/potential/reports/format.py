"""Display formatting for the reports: every number a page shows goes through here.

Nothing on a page may read 'nan', 'None', 'NaT' or 'inf': a missing value is shown as an em dash.
"""

from __future__ import annotations

import math
from typing import Any

DASH = "—"
_MISSING_TEXT = frozenset({"", "nan", "NaN", "None", "NaT", "<NA>", "inf", "-inf", "Infinity", "-Infinity"})


def missing(value: Any) -> bool:
    """True for None, NaN, NaT, pd.NA, +-inf and their string spellings."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in _MISSING_TEXT
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value) in _MISSING_TEXT
    return math.isnan(number) or math.isinf(number)


def as_float(value: Any) -> float | None:
    """The value as a finite float, or None."""
    if missing(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def flag(value: Any) -> bool:
    """A boolean cell that may arrive as bool, 0/1 or 'True'/'false' text."""
    if missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y")
    return bool(value)


def text(value: Any, default: str = DASH) -> str:
    return default if missing(value) else str(value)


def integer(value: Any) -> str:
    number = as_float(value)
    return DASH if number is None else f"{round(number):,d}"


def number(value: Any, digits: int = 0) -> str:
    number_ = as_float(value)
    return DASH if number_ is None else _no_negative_zero(f"{number_:,.{digits}f}")


def money(value: Any, currency: str = "") -> str:
    """Whole money units with thousands separators: '€1,234,567', '-€1,200'."""
    number_ = as_float(value)
    if number_ is None:
        return DASH
    rounded = round(number_)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{currency}{abs(rounded):,d}"


def money_short(value: float, currency: str = "") -> str:
    """Compact money for chart axes: '€950', '€12k', '€1.2M'."""
    number_ = as_float(value)
    if number_ is None:
        return DASH
    sign = "-" if number_ < 0 else ""
    size = abs(number_)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            scaled = size / limit
            body = f"{scaled:.1f}".rstrip("0").rstrip(".") if scaled < 10 else f"{scaled:.0f}"
            return f"{sign}{currency}{body}{suffix}"
    return f"{sign}{currency}{size:,.0f}"


def percent(value: Any, digits: int = 1) -> str:
    """A share or probability in [0, 1] as a percentage: 0.8889 -> '88.9%'."""
    number_ = as_float(value)
    return DASH if number_ is None else _no_negative_zero(f"{number_ * 100:.{digits}f}") + "%"


def points(value: Any, digits: int = 1) -> str:
    """Signed probability points from a probability difference: 0.123 -> '+12.3 pts'."""
    number_ = as_float(value)
    if number_ is None:
        return DASH
    body = f"{number_ * 100:+.{digits}f}"
    return ("+" + body[1:] if body.startswith("-") and float(body) == 0 else body) + " pts"


def signed(value: Any, digits: int = 1) -> str:
    """A signed number (rating points): '+2.7', '-1.3', '+0.0'."""
    number_ = as_float(value)
    if number_ is None:
        return DASH
    body = f"{number_:+.{digits}f}"
    return "+" + body[1:] if body.startswith("-") and float(body) == 0 else body


def change(current: Any, previous: Any) -> str:
    """Relative change as '+26%' / '-71%', or '—' when there is no base to compare with."""
    now, before = as_float(current), as_float(previous)
    if now is None or before is None or before <= 0:
        return DASH
    return f"{(now / before - 1) * 100:+.0f}%"


def band(probability: Any) -> str:
    """Plain band for a probability: 'low' (< 0.2), 'medium' (< 0.5) or 'high'."""
    p = as_float(probability)
    if p is None:
        return ""
    return "low" if p < 0.2 else ("medium" if p < 0.5 else "high")


def _no_negative_zero(body: str) -> str:
    stripped = body.lstrip("-")
    return stripped if body.startswith("-") and not stripped.strip("0.,") else body
