"""Target definitions (docs/design.md section 2): churn, expansion against the account's own baseline, uplift.

Everything here is a pure numpy function over per-transaction arrays (account code, day number, amount),
so the training labels (`labels_at`, at each cutoff) and the scoring figures (`baseline_at`, at the as-of)
share one definition. Days are float days since the epoch (`potential.features.timebase`); `C` is the
cutoff and `h` the horizon in days. Labels read the window [C, C + h) and, for the baseline, the history
strictly before C; nothing else.

Baseline — what the account would spend over the next `h` days if nothing changed:

- run rate: spend in [C - 365d, C) x h / span, where span is the account's history before C (days since its
  first order), clipped to [h, 365]. A full year is scaled by h/365; a younger account by the history it
  has; the floor of one horizon means a brand-new account's spend so far counts as one horizon's worth,
  never scaled up (one order ten days ago is not a rate of nine orders a quarter).
- season: when the account was already buying a year ago (first order on or before C - 365d, so the same
  window last year, [C - 365d, C - 365d + h), lies inside its history), the baseline is the larger of the
  run rate and that window's spend. A seasonal peak that repeats last year's is then not growth. The
  maximum is chosen over a multiplicative seasonal factor (last year's window / the run rate of the year
  before it) because with lumpy orders that ratio is noisy and needs two full years, while the maximum
  needs one and errs on the side of fewer, surer expansions.
- never negative (refunds can make a year's net spend negative).

Growth bar — what the horizon has to beat: the larger of the baseline and the recent run rate (spend in the
2h days before C, scaled to one horizon; two horizons so that an account ordering every other month is not
judged by whether one or two of its orders fell in the last quarter). The baseline keeps a quiet quarter
from lowering the bar (a dip and a return is not growth); the recent run rate keeps an account that already
stepped up from counting the same step again in the following months (its trailing-year run rate lags
behind its new level). An expansion is a new step in this horizon, which is what a seller can still act on.

Expansion — sustained growth, all five must hold:

1. sustained spend >= (1 + time.expansion_growth) x growth bar, where sustained spend is the horizon spend
   with its largest order-day counted at most as much as the larger of the horizon's second-largest
   order-day and the account's median order-day of the trailing year. One big order alone does not make
   an expansion: growth has to show in more than one order (a catch-up order after a quiet month, or a
   one-off project order, is one big order).
2. it holds to the end of the horizon: the buying rate of the horizon's last order-day (its spend over the
   days since the order-day before it, at least a week), scaled to a horizon, is at least
   (1 + time.expansion_growth) x growth bar. A burst early in the horizon that fades, or a catch-up
   followed by ordinary orders, is not growth; bigger orders and more frequent orders both are.
3. sustained spend - growth bar >= time.expansion_min_extra_orders x the account's average order-day in the
   trailing year (positive spend / days with an order). The minimum is relative to the account, never a
   currency amount: the same history in a currency 1000x smaller gets the same labels. It is per account
   (not a portfolio statistic) so a label depends only on its account's own events and is the same
   whether the portfolio is scored whole or in partitions.
4. sustained spend > growth bar (an account that spent nothing and spends nothing is not expanding).
5. the account is established: its first order is at least one horizon before C. Younger accounts have no
   baseline to grow against yet (a monthly buyer that started three weeks ago would look like it tripled),
   so their expansion label is 0: a brand-new account is not expanding on its second order.

A dip followed by a return to normal is not expansion: the baseline is the trailing year, not the quiet
quarter before the cutoff, and the catch-up order is capped by rule 1.

Churn (for accounts active in the lookback before C): no positive transaction in [C, C + h).
Uplift: horizon spend - growth bar (the new money the uplift regressor learns on expanding rows).
Revenue at risk, in scoring, is the baseline: what the account is expected to spend if it is kept.

Worked example (h = 90, growth 0.2, min extra 0.5 orders). Cutoff C = 2025-01-01, so the trailing year
is [2024-01-02, 2025-01-01) and last year's window is [2024-01-02, 2024-04-01). The account has bought
1,000 on the 15th of every month since 2023-06-15.

    trailing-year spend      12 x 1,000                           = 12,000
    run rate                 12,000 x 90 / 365                    =  2,958.90
    last year's window       Jan + Feb + Mar 2024 = 3 x 1,000     =  3,000   (first order <= C - 365d)
    baseline                 max(2,958.90, 3,000)                 =  3,000
    recent run rate          Jul..Dec 2024 = 6 x 1,000, x 90 / 180 =  3,000
    growth bar               max(3,000, 3,000)                    =  3,000
    horizon orders           1,300 (Jan 15), 1,300 (Feb 15), 1,400 (Mar 15); horizon spend = 4,000
    sustained spend          1,400 capped at max(1,300, 1,000) = 1,300 -> 1,300 + 1,300 + 1,300 = 3,900
    growth test              3,900 >= 1.2 x 3,000 = 3,600                               yes
    holds test               1,400 on Mar 15, 28 days after Feb 15: 50 a day x 90 = 4,500 >= 3,600  yes
    extra test               3,900 - 3,000 = 900 >= 0.5 x 1,000 (average order-day) = 500  yes
    -> expansion = 1, churn = 0, uplift = 4,000 - 3,000 = 1,000

The same account ordering nothing in October, November and December and catching up with 3,000 on
January 15 (then 1,000 in February and March; horizon spend 5,000) is not expanding: its trailing year is
9,000 (run rate 2,219.18), the growth bar stays 3,000 (last year's window; the recent levels are lower),
and the catch-up order counts as max(1,000, 1,000) = 1,000, so the sustained spend is 3,000 < 3,600. The previous rule (horizon spend
>= 1.2 x the spend of the 90 days before C, which is 0 here) called it an expansion worth 5,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from potential.config import TimeConfig
from potential.features.timebase import day_of, to_days

YEAR_DAYS = 365
MONEY_COLUMNS = ("horizon_spend", "previous_spend", "baseline_spend", "uplift")
TARGET_COLUMNS = ("churn", "expansion", *MONEY_COLUMNS)  # what `targets_at` returns besides `active`


class EventArrays(Protocol):
    """What the targets read of the transactions (`TransactionArrays` and `Events` are such)."""

    @property
    def n_accounts(self) -> int: ...

    @property
    def code(self) -> np.ndarray: ...  # int account code per transaction, 0 <= code < n_accounts

    @property
    def t(self) -> np.ndarray: ...  # float days since the epoch

    @property
    def amount(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Events:
    """Plain transaction arrays keyed by account code (what scoring builds from a transactions frame)."""

    n_accounts: int
    code: np.ndarray
    t: np.ndarray
    amount: np.ndarray

    @classmethod
    def from_frame(cls, transactions: pd.DataFrame, accounts: pd.Index) -> Events:
        """Rows of `transactions` (account_id, date, amount) whose account is in `accounts`, coded by position."""
        code = accounts.get_indexer(pd.Index(transactions["account_id"]))
        keep = code >= 0
        return cls(
            n_accounts=len(accounts),
            code=code[keep].astype(np.int64),
            t=to_days(transactions["date"].to_numpy()[keep]),
            amount=transactions["amount"].to_numpy(dtype=float)[keep],
        )


def _sum(events: EventArrays, mask: np.ndarray, weights: bool = True) -> np.ndarray:
    """Per-account total amount (or count with weights=False) of the masked transactions."""
    w = events.amount[mask] if weights else None
    return np.bincount(events.code[mask], weights=w, minlength=events.n_accounts).astype(float)


def _order_days(events: EventArrays, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positive transactions under `mask` summed per (account, calendar day): (account code, day total)."""
    keep = mask & (events.amount > 0)
    code = events.code[keep]
    day = np.floor(events.t[keep]).astype(np.int64)
    if len(code) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    key = code * (int(day.max() - day.min()) + 1) + (day - day.min())
    inverse, uniques = pd.factorize(key)
    totals = np.bincount(inverse, weights=events.amount[keep])
    accounts = np.zeros(len(uniques), dtype=np.int64)
    accounts[inverse] = code
    return accounts, totals


def _largest_two(accounts: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest and second-largest value per account code (0 where there is none)."""
    first, second = np.zeros(n), np.zeros(n)
    if len(accounts) == 0:
        return first, second
    order = np.lexsort((-values, accounts))  # by account, largest value first
    acc, val = accounts[order], values[order]
    starts = np.flatnonzero(np.r_[True, acc[1:] != acc[:-1]])
    first[acc[starts]] = val[starts]
    nxt = starts + 1
    has_second = nxt < len(acc)
    has_second[has_second] = acc[nxt[has_second]] == acc[starts[has_second]]
    second[acc[starts[has_second]]] = val[nxt[has_second]]
    return first, second


def _median_per_account(accounts: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median value per account code (0 where there is none)."""
    out = np.zeros(n)
    if len(accounts) == 0:
        return out
    order = np.lexsort((values, accounts))
    acc, val = accounts[order], values[order]
    starts = np.flatnonzero(np.r_[True, acc[1:] != acc[:-1]])
    counts = np.diff(np.r_[starts, len(acc)])
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[acc[starts]] = (val[lo] + val[hi]) / 2
    return out


def history_days(events: EventArrays, at: float) -> np.ndarray:
    """Days from each account's first order (positive transaction) to `at`; -inf without one before `at`."""
    first = np.full(events.n_accounts, np.inf)
    ordered = (events.t < at) & (events.amount > 0)
    np.minimum.at(first, events.code[ordered], events.t[ordered])
    return at - first


def baseline_spend(events: EventArrays, at: float, horizon_days: int) -> np.ndarray:
    """Each account's expected spend over [at, at + horizon) if nothing changes, from events before `at`.

    The trailing-year run rate scaled to the horizon (history shorter than a year: scaled by the history
    there is, at least one horizon), raised to last year's spend in the same window when the account was
    buying then (see the module docstring). `at` is a day number (`timebase.day_of`). Never negative.
    """
    h = float(horizon_days)
    before = events.t < at
    trailing = _sum(events, before & (events.t >= at - YEAR_DAYS))
    history = history_days(events, at)
    span = np.clip(history, min(h, YEAR_DAYS), YEAR_DAYS)
    run_rate = trailing * h / span
    if h <= YEAR_DAYS:  # last year's window lies wholly before `at`
        window = before & (events.t >= at - YEAR_DAYS) & (events.t < at - YEAR_DAYS + h)
        last_year = _sum(events, window)
        run_rate = np.where(history >= YEAR_DAYS, np.maximum(run_rate, last_year), run_rate)
    return np.maximum(run_rate, 0.0)


def recent_run_rate(events: EventArrays, at: float, horizon_days: int) -> np.ndarray:
    """Spend in the 2 x horizon days before `at` (at most a year), scaled to one horizon; a younger account's
    spend is scaled by the history it has (at least one horizon), as in `baseline_spend`. Never negative."""
    h = float(horizon_days)
    window = min(2 * h, YEAR_DAYS)
    spend = _sum(events, (events.t < at) & (events.t >= at - window))
    span = np.clip(history_days(events, at), min(h, window), window)
    return np.maximum(spend * h / span, 0.0)


def baseline_at(transactions: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.Series:
    """`baseline_spend` at `as_of` for every account in a transactions frame (account_id, date, amount).

    Only rows dated strictly before `as_of` count. Indexed by account_id; this is revenue at risk in scoring.
    """
    accounts = pd.Index(pd.unique(transactions["account_id"]), name="account_id")
    events = Events.from_frame(transactions, accounts)
    return pd.Series(baseline_spend(events, day_of(as_of), horizon_days), index=accounts, name="baseline")


def active_at(events: EventArrays, at: float, lookback_days: int) -> np.ndarray:
    """True for accounts with a positive transaction in [at - lookback, at)."""
    window = (events.t < at) & (events.t >= at - lookback_days) & (events.amount > 0)
    return _sum(events, window, weights=False) > 0


def churn_label(events: EventArrays, at: float, horizon_days: int) -> np.ndarray:
    """1.0 where the account has no positive transaction in [at, at + horizon), else 0.0."""
    window = (events.t >= at) & (events.t < at + horizon_days) & (events.amount > 0)
    return (_sum(events, window, weights=False) == 0).astype(float)


def sustained_spend(events: EventArrays, at: float, horizon_days: int) -> np.ndarray:
    """Horizon spend with its largest order-day capped (rule 1 of the module docstring).

    The cap is the larger of the horizon's second-largest order-day and the account's median
    order-day in the trailing year [at - 365d, at).
    """
    n = events.n_accounts
    horizon = (events.t >= at) & (events.t < at + horizon_days)
    spend = _sum(events, horizon)
    top, second = _largest_two(*_order_days(events, horizon), n)
    past_acc, past_val = _order_days(events, (events.t < at) & (events.t >= at - YEAR_DAYS))
    cap = np.maximum(second, _median_per_account(past_acc, past_val, n))  # a usual order-day at most
    return spend - np.maximum(top - cap, 0.0)


MIN_GAP_DAYS = 7.0  # an order split over two days is not a doubled buying rate


def last_order_rate(events: EventArrays, at: float, horizon_days: int) -> np.ndarray:
    """The buying rate at the end of the horizon: the last order-day's spend over the days since the order-day
    before it (at least a week), per day; 0 without an order in the horizon. Growth in order size and
    growth in order frequency both raise it; a catch-up order followed by ordinary ones does not."""
    n = events.n_accounts
    end = at + horizon_days
    keep = (events.t < end) & (events.amount > 0)
    rate = np.zeros(n)
    if not keep.any():
        return rate
    code, day, amount = events.code[keep], np.floor(events.t[keep]), events.amount[keep]
    last_day = np.full(n, -np.inf)
    np.maximum.at(last_day, code, day)
    on_last = day == last_day[code]
    last_spend = np.bincount(code[on_last], weights=amount[on_last], minlength=n)
    before = np.full(n, -np.inf)
    np.maximum.at(before, code[~on_last], day[~on_last])
    gap = np.full(n, np.inf)
    known = np.isfinite(before) & np.isfinite(last_day)
    gap[known] = last_day[known] - before[known]
    in_horizon = last_day >= at
    return np.where(in_horizon, last_spend / np.maximum(gap, MIN_GAP_DAYS), 0.0)


def average_order_day(events: EventArrays, at: float) -> np.ndarray:
    """Positive spend per day with an order in the trailing year [at - 365d, at); 0 without orders."""
    accounts, totals = _order_days(events, (events.t < at) & (events.t >= at - YEAR_DAYS))
    spend = np.bincount(accounts, weights=totals, minlength=events.n_accounts)
    days = np.bincount(accounts, minlength=events.n_accounts)
    return np.divide(spend, days, out=np.zeros(events.n_accounts), where=days > 0)


def expansion_label(
    sustained: np.ndarray,
    end_rate: np.ndarray,
    baseline: np.ndarray,
    typical_order: np.ndarray,
    established: np.ndarray,
    growth: float,
    min_extra_orders: float,
) -> np.ndarray:
    """1.0 where an established account's sustained spend beat its growth bar (`baseline`) by `growth` and by
    at least `min_extra_orders` of its average order-day, and it still buys at that rate at the end of the
    horizon (`end_rate`: the last order's rate scaled to a horizon; rules 1-5 of the module docstring)."""
    extra = sustained - baseline
    grew = (sustained >= (1.0 + growth) * baseline) & (end_rate >= (1.0 + growth) * baseline)
    material = extra >= min_extra_orders * typical_order
    return (established & grew & material & (extra > 0)).astype(float)


def targets_at(events: EventArrays, at: float, time: TimeConfig) -> dict[str, np.ndarray]:
    """Every target column at one cutoff, one value per account code, plus `active` (who gets a label).

    Columns: churn, expansion, horizon_spend, previous_spend (the h days before the cutoff),
    baseline_spend, uplift (horizon spend - the growth bar, max(baseline, recent run rate)).
    """
    h = time.horizon_days
    horizon_spend = _sum(events, (events.t >= at) & (events.t < at + h))
    previous_spend = _sum(events, (events.t >= at - h) & (events.t < at))
    baseline = baseline_spend(events, at, h)
    bar = np.maximum(baseline, recent_run_rate(events, at, h))
    expansion = expansion_label(
        sustained_spend(events, at, h),
        last_order_rate(events, at, h) * h,
        bar,
        average_order_day(events, at),
        history_days(events, at) >= h,
        time.expansion_growth,
        time.expansion_min_extra_orders,
    )
    return {
        "active": active_at(events, at, time.active_lookback_days),
        "churn": churn_label(events, at, h),
        "expansion": expansion,
        "horizon_spend": horizon_spend,
        "previous_spend": previous_spend,
        "baseline_spend": baseline,
        "uplift": horizon_spend - bar,
    }
