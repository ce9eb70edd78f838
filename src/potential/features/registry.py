"""The phrase table: every sentence a manager reads about a feature comes from here.

One row per computed feature (or family of features: `spend_90d`, `spend_365d`, ... share a row): a
pattern on the feature's name, a one-line description (model card, report tooltips) and how a value is
said for one account ("Spend fell 38% vs the previous 90 days"). Profile attributes — the user's own
columns — are said with their own name ("Culture fit: good"). `tests/features/test_registry.py` checks that
every feature the builders make has its own row and reads as a sentence.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Say = Callable[[float, tuple[str, ...]], str]


def _pct(value: float) -> str:
    return f"{abs(value) * 100:.0f}%"


def _days(value: float) -> str:
    return f"{value:,.0f} day" + ("" if round(value) == 1 else "s")


def _count(value: float, one: str, many: str | None = None) -> str:
    n = round(value)
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _change(what: str, days: str | None = None) -> Say:
    """'<what> up 12% vs the previous N days': N from the name's group, or `days` when the name has none."""

    def say(v: float, g: tuple[str, ...]) -> str:
        n = days or g[0]
        if abs(v) < 0.005:
            return f"{what} flat vs the previous {n} days"
        return f"{what} {'up' if v > 0 else 'fell'} {_pct(v)} vs the previous {n} days"

    return say


@dataclass(frozen=True)
class Phrase:
    """How one feature (or a family, by `pattern`) is described and said."""

    pattern: str  # full-match regex on the feature name; its groups fill `description` and `say`
    description: str  # a template with {0}, {1}: the groups
    say: Say  # a known numeric value -> the sentence for one account
    missing: str | None = None  # the sentence when the value is missing (None: "<description>: unknown")
    # the targets for which the feature may be named as a reason: order timing explains a churn risk, but
    # "next order overdue" as a reason to grow an account reads as nonsense to a seller (the model still
    # uses it, and the account page's full explanation still shows it); the calendar month is never a reason
    reasons: tuple[str, ...] = ("churn", "expansion")

    def matches(self, name: str) -> tuple[str, ...] | None:
        match = re.fullmatch(self.pattern, name)
        return None if match is None else tuple(g.replace("_", " ") for g in match.groups())


# the purchase-rhythm features: unknown below a few purchases, and reasons for a churn risk only
_RHYTHM: dict[str, Any] = {"missing": "Too few purchases for a usual rhythm", "reasons": ("churn",)}

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip

PHRASES: tuple[Phrase, ...] = (
    # ---- money and orders
    Phrase(
        r"spend_(\d+)d",
        "Net spend in the last {0} days",
        lambda v, g: f"Spend in the last {g[0]} days: {_money(v)}",
    ),
    Phrase(
        r"orders_(\d+)d",
        "Number of orders in the last {0} days",
        lambda v, g: f"{_count(v, 'order')} in the last {g[0]} days",
    ),
    Phrase(
        r"purchase_days_(\d+)d",
        "Distinct purchase days in the last {0} days",
        lambda v, g: f"Bought on {_count(v, 'day')} in the last {g[0]} days",
    ),
    Phrase(
        r"spend_trend_(\d+)d",
        "Change of spend in the last {0} days vs the {0} days before",
        _change("Spend"),
        missing="No spend in the period before the last one to compare with",
    ),
    Phrase(
        r"days_since_last_purchase",
        "Days since the last purchase",
        lambda v, g: f"Last purchase {_days(v)} ago",
        missing="No purchase on record",
        reasons=("churn",),
    ),
    Phrase(
        r"tenure_days",
        "Days since the first purchase",
        lambda v, g: f"Customer for {_days(v)}",
        missing="No purchase on record",
    ),
    Phrase(
        r"purchase_gap_mean_days",
        "Usual number of days between purchases",
        lambda v, g: f"Usually buys every {_days(v)}",
        **_RHYTHM,
    ),
    Phrase(
        r"purchase_gap_ratio",
        "Days since last purchase relative to the usual gap (above 1 = overdue)",
        lambda v, g: (
            f"Next order overdue: {v:.1f}x the usual gap"
            if v > 1
            else f"Buying on rhythm ({v:.1f}x the usual gap)"
        ),
        **_RHYTHM,
    ),
    Phrase(
        r"purchase_gap_cv",
        "Irregularity of purchase gaps (spread / mean)",
        lambda v, g: (
            f"Buys on a regular rhythm (gap spread {v:.1f}x the mean)"
            if v < 0.5
            else f"Buys irregularly (gap spread {v:.1f}x the mean)"
        ),
        **_RHYTHM,
    ),
    Phrase(
        r"purchase_gap_last_ratio",
        "Latest purchase gap vs the usual (above 1 = slowing)",
        lambda v, g: (
            f"Orders slowing: the last gap was {v:.1f}x the usual"
            if v > 1.2
            else f"Orders speeding up: the last gap was {v:.1f}x the usual"
            if v < 0.8
            else f"Orders on their usual pace (last gap {v:.1f}x the usual)"
        ),
        **_RHYTHM,
    ),
    Phrase(
        r"spend_lifetime",
        "Net spend over the whole history",
        lambda v, g: f"Spend over the whole history: {_money(v)}",
    ),
    Phrase(
        r"purchase_days_lifetime",
        "Distinct purchase days over the whole history",
        lambda v, g: f"Bought on {_count(v, 'day')} in all",
    ),
    Phrase(
        r"spend_slope_12m",
        "Trend of monthly spend over 12 months (share of the average month per month)",
        lambda v, g: (
            f"Monthly spend trending {'up' if v >= 0 else 'down'} over 12 months ({_pct(v)} of an average month a month)"
        ),
    ),
    Phrase(
        r"spend_volatility_12m",
        "Volatility of monthly spend over 12 months (coefficient of variation)",
        lambda v, g: (
            f"Monthly spend {'very uneven' if v > 1.5 else 'uneven' if v > 0.6 else 'steady'} over 12 months"
        ),
    ),
    Phrase(
        r"active_months_12m",
        "Months with spend in the last 12",
        lambda v, g: f"Bought in {v:.0f} of the last 12 months",
    ),
    Phrase(
        r"refund_share_365d",
        "Refunds as a share of gross spend in the last year",
        lambda v, g: f"Refunds {_pct(v)} of spend in the last year",
    ),
    Phrase(
        r"avg_deal_365d",
        "Average order value in the last year",
        lambda v, g: f"Average order in the last year: {_money(v)}",
    ),
    Phrase(
        r"month_of_year",
        "Calendar month of the date scored (budget seasons)",
        lambda v, g: f"Time of year: {MONTHS[int(v) - 1]}",
        reasons=(),
    ),
    Phrase(
        r"new_products_(\d+)d",
        "Products bought for the first time in the last {0} days",
        lambda v, g: (
            f"Tried {_count(v, 'new product')} in the last {g[0]} days"
            if v
            else f"No new product tried in the last {g[0]} days"
        ),
    ),
    Phrase(
        r"products_365d",
        "Distinct products bought in the last year",
        lambda v, g: f"Bought {_count(v, 'product')} in the last year",
    ),
    Phrase(
        r"products_trend_365d",
        "Change in distinct products bought vs the year before",
        lambda v, g: (
            "Same number of products as the year before"
            if v == 0
            else f"{_count(abs(v), 'product')} {'more' if v > 0 else 'fewer'} than the year before"
        ),
    ),
    # ---- engagement
    Phrase(
        r"activities_(\d+)d",
        "Activities (meetings, e-mails, calls, tickets) in the last {0} days",
        lambda v, g: f"{_count(v, 'activity', 'activities')} in the last {g[0]} days",
    ),
    Phrase(
        r"activity_trend_90d",
        "Change of activity in the last 90 days vs the 90 days before",
        _change("Activity", "90"),
        missing="No activity in the 90 days before the last 90 to compare with",
    ),
    Phrase(
        r"activity_trend_30d",
        "Activity in the last 30 days vs the account's average 30 days over the year before",
        lambda v, g: (
            "Activity in the last 30 days at its usual pace"
            if abs(v) < 0.005
            else f"Activity in the last 30 days {'up' if v > 0 else 'down'} {_pct(v)} vs its usual pace"
        ),
        missing="No activity in the year before the last 30 days to compare with",
    ),
    Phrase(
        r"exec_contacts_(\d+)d",
        "Executive-level contacts in the last {0} days",
        lambda v, g: (
            f"No executive contact in {g[0]} days"
            if v == 0
            else f"{_count(v, 'executive contact')} in {g[0]} days"
        ),
    ),
    Phrase(
        r"exec_trend_90d",
        "Change of executive contacts in the last 90 days vs the 90 days before",
        lambda v, g: (
            "Executive contact flat vs the previous 90 days"
            if abs(v) < 0.005
            else f"Executive contact {'up' if v > 0 else 'down'} {_pct(v)} vs the previous 90 days"
        ),
        missing="No executive contact in the 90 days before the last 90 to compare with",
    ),
    Phrase(
        r"days_since_last_activity",
        "Days since the last recorded activity",
        lambda v, g: f"Last activity {_days(v)} ago",
        missing="No activity on record",
    ),
    Phrase(
        r"days_since_exec_contact",
        "Days since the last executive-level contact",
        lambda v, g: f"Last executive contact {_days(v)} ago",
        missing="No executive contact on record",
    ),
    Phrase(
        r"distinct_contacts_365d",
        "Distinct people we were in contact with in the last year",
        lambda v, g: (
            "Single-threaded: one contact in the last year"
            if v <= 1
            else f"{_count(v, 'contact')} in the last year"
        ),
    ),
    Phrase(
        r"new_contacts_(\d+)d",
        "People we met for the first time in the last {0} days",
        lambda v, g: (
            f"{_count(v, 'new contact')} in the last {g[0]} days"
            if v
            else f"No new contact in the last {g[0]} days"
        ),
    ),
    Phrase(
        r"new_decision_makers_(\d+)d",
        "New executive, finance or procurement contacts in the last {0} days",
        lambda v, g: (
            f"{_count(v, 'new decision-maker')} (executive, finance, procurement) met in the last {g[0]} days"
            if v
            else f"No new decision-maker met in the last {g[0]} days"
        ),
    ),
    # ---- profile-derived and peers
    Phrase(
        r"months_into_fiscal_year",
        "Months since the start of the account's fiscal year (budgets open at its start)",
        lambda v, g: (
            "First month of its fiscal year: new budgets"
            if v == 0
            else f"Month {v + 1:.0f} of its fiscal year: new budgets in {_count(12 - v, 'month')}"
            if v >= 9
            else f"Month {v + 1:.0f} of its fiscal year"
        ),
        missing="Fiscal year not on record",
        reasons=("expansion",),
    ),
    Phrase(
        r"account_age_days",
        "Days since the account was created",
        lambda v, g: f"Account created {_days(v)} ago",
    ),
    Phrase(
        r"is_prospect",
        "Never bought before the date scored",
        lambda v, g: "Prospect: no purchase yet" if v else "Customer",
    ),
    Phrase(
        r"peer_spend_percentile",
        "Spend percentile among look-alike accounts (industry x size)",
        lambda v, g: f"Spends more than {v * 100:.0f}% of look-alike accounts",
    ),
    Phrase(
        r"peer_p75_spend_365d",
        "Yearly spend of the 75th-percentile look-alike account",
        lambda v, g: f"Look-alike accounts at the 75th percentile spend {_money(v)} a year",
    ),
    Phrase(
        r"peer_gap_to_p75",
        "Money gap to the 75th-percentile look-alike (whitespace)",
        lambda v, g: (
            f"{_money(v)} below the peer 75th percentile" if v > 0 else "At or above the peer 75th percentile"
        ),
    ),
    Phrase(
        r"potential_spend_365d",
        "Yearly spend the account could reach (peer P75 or its own, whichever is higher)",
        lambda v, g: f"Could spend {_money(v)} a year",
    ),
    Phrase(
        r"potential_multiple",
        "Potential yearly spend as a multiple of the portfolio's average deal",
        lambda v, g: f"Could spend {v:.1f}x the average deal",
    ),
    # ---- buy-till-you-die
    Phrase(
        r"btyd_p_alive",
        "Probability the customer is still active (BG/NBD on the purchase history)",
        lambda v, g: f"{v * 100:.0f}% likely still an active buyer (purchase rhythm)",
    ),
    Phrase(
        r"btyd_expected_purchases_(\d+)d",
        "Purchase days expected in the next {0} days (BG/NBD)",
        lambda v, g: f"About {v:.1f} purchase days expected in the next {g[0]} days (purchase rhythm)",
    ),
    Phrase(
        r"btyd_p_no_purchase_(\d+)d",
        "Probability of no purchase in the next {0} days (BG/NBD)",
        lambda v, g: f"{v * 100:.0f}% chance of no purchase in the next {g[0]} days (purchase rhythm)",
    ),
    # ---- common profile columns with a unit
    Phrase(r"employees", "Number of employees", lambda v, g: f"{_count(v, 'employee')}"),
    Phrase(r"annual_revenue", "Annual revenue", lambda v, g: f"Annual revenue: {_money(v)}"),
    # ---- activity kinds last: `<kind>_<w>d` for the most frequent kinds in the data
    Phrase(
        r"([a-z0-9_]+)_(\d+)d",
        "{0} activities in the last {1} days",
        lambda v, g: f"{_count(v, g[0].capitalize())} in the last {g[1]} days",
    ),
)


@functools.lru_cache(maxsize=4096)
def lookup(name: str) -> tuple[Phrase, tuple[str, ...]] | None:
    """The table row of a computed feature and its groups; None for a profile attribute.

    Cached: reasons phrase a few features for every account, so each name is matched against the table once.
    """
    for row in PHRASES:
        groups = row.matches(name)
        if groups is not None:
            return row, groups
    return None


def speaks_to(name: str, target: str) -> bool:
    """May the feature be named as a reason for `target` (a profile attribute always may)?"""
    found = lookup(name)
    return found is None or target in found[0].reasons


def _humanize(name: str) -> str:
    """A column name as a label: underscores to spaces, first letter upper, the rest as written."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.4g}"


def describe(name: str) -> str:
    """One-line description of a feature; a profile attribute is named by its column."""
    found = lookup(name)
    if found is None:
        return _humanize(name)
    row, groups = found
    text = row.description.format(*groups)
    return text[:1].upper() + text[1:]


def phrase(name: str, value: object) -> str:
    """Plain-English statement of a feature's value for one account ("Spend fell 38% vs the previous 90 days")."""
    found = lookup(name)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if found is None:  # a profile attribute: the user's column and value
        if missing:
            return f"{_humanize(name)}: unknown"
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            return f"{_humanize(name)}: {value}"
        return f"{_humanize(name)}: {_number(float(value))}"
    row, groups = found
    if missing:
        return row.missing or f"{describe(name)}: unknown"
    if isinstance(value, str):
        return f"{_humanize(name)}: {value}"
    return row.say(float(value), groups)  # type: ignore[arg-type]
