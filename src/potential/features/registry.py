"""Feature registry: a one-line description per feature and the plain-English phrase reports and reasons use."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

Describer = Callable[[re.Match[str]], str]

_PATTERNS: list[tuple[str, str]] = [
    (r"spend_(\d+)d", "Net spend in the last {0} days"),
    (r"orders_(\d+)d", "Number of orders in the last {0} days"),
    (r"purchase_days_(\d+)d", "Distinct purchase days in the last {0} days"),
    (r"spend_trend_(\d+)d", "Change of spend in the last {0} days vs the {0} days before"),
    (r"activities_(\d+)d", "Activities (meetings, e-mails, calls, tickets) in the last {0} days"),
    (r"exec_contacts_(\d+)d", "Executive-level contacts in the last {0} days"),
    (r"distinct_contacts_(\d+)d", "Distinct people we were in contact with in the last {0} days"),
    (r"(.+)_(\d+)d", "'{0}' activities in the last {1} days"),
    (r"(.+)_age_days", "Days since '{0}'"),
]
_FIXED: dict[str, str] = {
    "days_since_last_purchase": "Days since the last purchase",
    "tenure_days": "Days since the first purchase",
    "purchase_gap_mean_days": "Usual number of days between purchases",
    "purchase_gap_ratio": "Days since last purchase relative to the usual gap (above 1 = overdue)",
    "spend_lifetime": "Net spend over the whole history",
    "purchase_days_lifetime": "Distinct purchase days over the whole history",
    "btyd_p_alive": "Probability the customer is still active (BG/NBD on the purchase history)",
    "btyd_expected_purchases_90d": "Purchase days expected in the next 90 days (BG/NBD)",
    "btyd_p_no_purchase_90d": "Probability of no purchase in the next 90 days (BG/NBD)",
    "spend_slope_12m": "Trend of monthly spend over 12 months (share of the average month per month)",
    "spend_volatility_12m": "Volatility of monthly spend over 12 months (coefficient of variation)",
    "active_months_12m": "Months with spend in the last 12",
    "refund_share_365d": "Refunds as a share of gross spend in the last year",
    "avg_deal_365d": "Average order value in the last year",
    "products_365d": "Distinct products bought in the last year",
    "products_trend_365d": "Change in distinct products bought vs the year before",
    "activity_trend_90d": "Change of activity in the last 90 days vs the 90 days before",
    "days_since_last_activity": "Days since the last recorded activity",
    "days_since_exec_contact": "Days since the last executive-level contact",
    "peer_spend_percentile": "Spend percentile among look-alike accounts (industry x size)",
    "peer_p75_spend_365d": "Yearly spend of the 75th-percentile look-alike account",
    "peer_gap_to_p75": "Money gap to the 75th-percentile look-alike (whitespace)",
    "potential_spend_365d": "Yearly spend the account could reach (peer P75 or its own, whichever is higher)",
    "potential_multiple": "Potential yearly spend as a multiple of the portfolio's average deal",
    "is_prospect": "Never bought before the as-of date",
    "account_age_days": "Days since the account was created",
    "employees": "Number of employees",
    "annual_revenue": "Annual revenue",
}


def describe(name: str) -> str:
    """One-line description of a feature (profile attributes are described by their column name)."""
    if name in _FIXED:
        return _FIXED[name]
    for pattern, template in _PATTERNS:
        match = re.fullmatch(pattern, name)
        if match:
            return template.format(*(g.replace("_", " ") for g in match.groups()))
    return f"Profile attribute '{name.replace('_', ' ')}'"


def _humanize(name: str) -> str:
    """A column name as a label: underscores to spaces, first letter upper, the rest as written."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _pct(value: float) -> str:
    return f"{abs(value) * 100:.0f}%"


def _days(value: float) -> str:
    return f"{value:.0f} days"


def phrase(name: str, value: object) -> str:
    """Plain-English statement of a feature's value for one account ("Spend fell 38% vs the previous 90 days")."""
    if isinstance(value, float) and math.isnan(value) or value is None:
        missing = {
            "days_since_exec_contact": "No executive contact on record",
            "days_since_last_purchase": "No purchase on record",
            "days_since_last_activity": "No activity on record",
        }
        if name in missing:
            return missing[name]
        match = re.fullmatch(r"spend_trend_(\d+)d", name)
        if match:
            return f"No spend in the {match.group(1)} days before the last {match.group(1)}"
        return f"{describe(name)}: unknown"
    if isinstance(value, str):
        return f"{_humanize(name)}: {value}"
    v = float(value)  # type: ignore[arg-type]
    match = re.fullmatch(r"spend_trend_(\d+)d", name)
    if match:
        if abs(v) < 0.005:
            return f"Spend flat vs the previous {match.group(1)} days"
        return f"Spend {'up' if v > 0 else 'fell'} {_pct(v)} vs the previous {match.group(1)} days"
    if name == "activity_trend_90d":
        return f"Activity {'up' if v >= 0 else 'down'} {_pct(v)} vs the previous 90 days"
    match = re.fullmatch(r"exec_contacts_(\d+)d", name)
    if match:
        return (
            f"No executive contact in {match.group(1)} days"
            if v == 0
            else f"{v:.0f} executive contact(s) in {match.group(1)} days"
        )
    if name == "days_since_last_purchase":
        return f"Last purchase {_days(v)} ago"
    if name == "days_since_last_activity":
        return f"Last activity {_days(v)} ago"
    if name == "days_since_exec_contact":
        return f"Last executive contact {_days(v)} ago"
    if name == "purchase_gap_ratio":
        return (
            f"Next order overdue: {v:.1f}x the usual gap"
            if v > 1
            else f"Buying on rhythm ({v:.1f}x the usual gap)"
        )
    if name == "peer_spend_percentile":
        return f"Spends more than {v * 100:.0f}% of look-alike accounts"
    if name == "peer_gap_to_p75":
        return f"{v:,.0f} below the peer 75th percentile" if v > 0 else "At or above the peer 75th percentile"
    if name == "potential_multiple":
        return f"Could spend {v:.1f}x the average deal"
    if name == "distinct_contacts_365d":
        return (
            "Single-threaded: one contact in the last year"
            if v <= 1
            else f"{v:.0f} contacts in the last year"
        )
    if name == "refund_share_365d":
        return f"Refunds {_pct(v)} of spend in the last year"
    if name == "spend_slope_12m":
        return f"Monthly spend trending {'up' if v >= 0 else 'down'} over 12 months"
    if name == "active_months_12m":
        return f"Bought in {v:.0f} of the last 12 months"
    match = re.fullmatch(r"(spend|orders|purchase_days|activities)_(\d+)d", name)
    if match:
        amount = f"{v:,.0f}"
        label = {
            "spend": "Spend",
            "orders": "Orders",
            "purchase_days": "Days with a purchase",
            "activities": "Activities",
        }[match.group(1)]
        return f"{label} in the last {match.group(2)} days: {amount}"
    match = re.fullmatch(r"([a-z0-9_]+)_(\d+)d", name)
    if match:  # activity kinds, e.g. support_ticket_90d
        return f"{match.group(1).replace('_', ' ').capitalize()}s in the last {match.group(2)} days: {v:,.0f}"
    if name in (
        "annual_revenue",
        "avg_deal_365d",
        "spend_lifetime",
        "peer_p75_spend_365d",
        "potential_spend_365d",
    ):
        return f"{describe(name)}: {v:,.0f}"
    if name == "employees":
        return f"{v:,.0f} employees"
    if name.endswith("_days"):
        return f"{describe(name)}: {v:,.0f}"
    label = describe(name) if name in _FIXED else _humanize(name)
    return f"{label}: {v:,.4g}"
