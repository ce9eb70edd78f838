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

Buying level — what the step detector reads (`BuyingCurve`): each account's cumulative positive spend as a
piecewise-linear function of time, an order-day's spend spread evenly over the days since the account's
previous order-day (a replenishment order pays for what was used since the last one). A quarterly buyer's
level is then as smooth as a monthly buyer's, and "level over [a, b)" is the curve's rise over the span.
Order-days closer together than JOIN_GAP of the account's mean gap between order-days are one order: a split
delivery, or a small trial order days before a regular one, pays with it for the use since the order before
(spread over the day between them, a regular order would read as a burst of several months' buying).

Step ratio at a candidate step point p (`step_ratio`), with w = the level window (4/3 of a horizon, within
[60, 365] days):
- after = level over [p, p + w) (clipped to the data's end; at least a third of a horizon is needed);
- before = the largest of the level over the year before p (or the history there is), the level over the
  w days before p, and, when the account was buying a year earlier, the level over the same window a year
  earlier (a repeated seasonal peak is not growth; a quiet spell before p does not lower the bar);
- ratio = after / before.

Expansion — a sustained step up of the buying level inside the horizon, all three must hold:

1. step: at one of STEP_POINTS candidate points evenly spaced over [C, C + h) the ratio is at least
   1 + time.expansion_growth, the level in the second half of its after-window is too (the step holds:
   a one-off order or a burst that fades does not), and the ratio is a local peak (no lower than at the
   points one spacing before and after). A step that happened before C still shows a high ratio at C, but
   a falling one, so it is not counted again in the following horizons; a step late in the horizon peaks
   inside it although the horizon's own spend barely shows it yet.
2. material: (after - before) x h >= time.expansion_min_extra_orders x the account's average order-day in
   the trailing year. The minimum is relative to the account, never a currency amount: the same history in
   a currency 1000x smaller gets the same labels. It is per account (not a portfolio statistic) so a label
   depends only on its account's own events and is the same whether the portfolio is scored whole or in
   partitions.
3. the account is established: its first order is at least one horizon before C. A younger account has no
   baseline to grow against yet, so whether it expands is unknown: its expansion label is missing (NaN),
   and the row neither trains nor tests the expansion model. A 0 would teach that new accounts do not
   expand, and they do.

The labels read events after the horizon (up to C + h + w, the level window after the last step point);
features never do. The label of the latest cutoffs sees less of that window (the data's end), so a step
in the last third of their horizon cannot be confirmed and is not counted.

A dip followed by a return to normal is not expansion: the year before p sets the bar, not the quiet
quarter, and a catch-up order is spread over the quiet months it pays for.

Growth bar: the larger of the baseline and the recent run rate (spend in the 2h days before C, scaled to
one horizon).

Churn (for accounts active in the lookback before C): no positive transaction in [C, C + h).
Uplift: on expanding rows, the step's new money over one horizon, (after - before) x h: what the account
buys more per horizon at its new level. The horizon's own spend would undercount a step late in it (the
orders have not caught up yet) and overcount a lumpy order. On other rows, horizon spend - growth bar. The
uplift regressor learns the expanding rows only.
Revenue at risk, in scoring, is the baseline: what the account is expected to spend if it is kept.

Worked example (h = 90, growth 0.7, min extra 0.5 orders, level window 120 days). Cutoff C = 2025-01-01;
the data runs to 2025-06-01. The account bought 1,000 on the 15th of every month from 2023-06-15 to
2025-01-15, then 1,800 on the 15th of every month from 2025-02-15.

    candidate points         Jan 1, Jan 16, Jan 31, Feb 15, Mar 2, Mar 17 (and Dec 17, Apr 1 as neighbours)
    the Feb 15 order         1,800 spread over Jan 16 .. Feb 15: the level steps up on Jan 16
    after (Jan 16)           Feb..May orders = 7,200 over [Jan 16, May 16)          = 60.00 a day
    before (Jan 16)          max(year 32.79, last 120 days 32.78, last year's window 33.06) = 33.06 a day
    ratio                    60.00 / 33.06 = 1.81 >= 1.7; late ratio (Mar 17 .. May 16) 1.80 >= 1.7
    peak                     ratios 1.72 (Jan 1), 1.81 (Jan 16), 1.68 (Jan 31): Jan 16 is the peak
    material                 (60.00 - 33.06) x 90 = 2,424 >= 0.5 x 1,000 (average order-day)
    -> expansion = 1, churn = 0; horizon spend 1,000 + 1,800 + 1,800 = 4,600; uplift (60.00 - 33.06) x 90
       = 2,424 (the Jan 15 order still pays for the old level, so 4,600 - 3,000 = 1,600 undercounts it)

The same account ordering nothing in October, November and December and catching up with 3,000 on
January 15 (then 1,000 a month) is not expanding: the catch-up is spread over the four months it pays
for, so its level never rises above the year before. Ordering 5,000 once in February among 1,000 orders
is not either: the window holding the big order is up, its second half is not (late ratio about 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from potential.config import TimeConfig
from potential.features.timebase import day_of, to_days

YEAR_DAYS = 365
STEP_POINTS = 6  # candidate step points per horizon (every 15 days of a 90-day horizon)
JOIN_GAP = 0.5  # order-days closer than this share of the account's mean gap between order-days are one order
CURVE_KEY = 1 << 32  # (account code, day) packed into one sortable number (exact in float64)
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


@dataclass(frozen=True)
class BuyingCurve:
    """Each account's cumulative positive spend as a piecewise-linear function of time (the step detector's
    view of its level, module docstring "Buying level").

    An order-day's spend is spread evenly over the days since the account's previous order-day (a
    replenishment order pays for what was used since the last one), so a quarterly buyer's level is as
    smooth as a monthly buyer's. The first order-day's spend is spread over its own day. An order-day
    followed within JOIN_GAP x the account's mean gap by the next is joined to it (no knot of its own: the
    two are spread together). The curve has a knot at the end of each remaining order-day; it is 0 before
    an account's first one and its total after the last.
    Only order-days strictly before `end` (the first day the data does not cover) are on the curve, and
    it is read no later than `end`. `known` is how far the data tells an account's level: `end`, unless
    its last order-day is closer to `end` than the gap before that order (it has not been silent for
    longer than usual, so the use since its last order is still to be paid); then its last order-day.
    """

    n_accounts: int
    code: np.ndarray  # account code per knot, sorted by (code, day)
    day: np.ndarray  # knot position (day number)
    value: np.ndarray  # the account's cumulative spend at the knot
    end: float
    known: np.ndarray  # per account: the level is known up to this day

    @classmethod
    def build(cls, events: EventArrays, end: float) -> BuyingCurve:
        keep = (events.amount > 0) & (events.t < end)
        code = events.code[keep].astype(np.int64)
        if len(code) == 0:
            empty = np.zeros(0)
            return cls(events.n_accounts, code, empty, empty, float(end), np.full(events.n_accounts, end))
        key = code * CURVE_KEY + np.floor(events.t[keep]).astype(np.int64)
        uniques, inverse = np.unique(key, return_inverse=True)
        spend = np.bincount(inverse, weights=events.amount[keep])
        code, day = uniques // CURVE_KEY, (uniques % CURVE_KEY).astype(float) + 1.0  # the day's end
        first = np.r_[True, code[1:] != code[:-1]]
        last = np.r_[code[1:] != code[:-1], True]
        starts = np.flatnonzero(first)
        count = np.diff(np.r_[starts, len(code)])
        total = np.cumsum(spend)
        value = total - np.repeat(np.r_[0.0, total][starts], count)
        mean_gap = (day[last] - day[first]) / np.maximum(count - 1, 1)
        joined = ~last & (np.r_[np.diff(day), np.inf] < JOIN_GAP * np.repeat(mean_gap, count))
        zero_code, zero_day = code[first], day[first] - 1.0
        code, day, value = code[~joined], day[~joined], value[~joined]
        knot_code = np.r_[code, zero_code]
        knot_day = np.r_[day, zero_day]
        knot_value = np.r_[value, np.zeros(len(starts))]
        order = np.lexsort((knot_day, knot_code))
        first = np.r_[True, code[1:] != code[:-1]]
        last = np.r_[code[1:] != code[:-1], True]
        gap = np.where(first, np.inf, np.diff(day, prepend=np.nan))  # days since the previous order
        known = np.full(events.n_accounts, float(end))
        recent = last & (end - day < gap)
        known[code[recent]] = day[recent]
        return cls(events.n_accounts, knot_code[order], knot_day[order], knot_value[order], float(end), known)

    def at(self, q: np.ndarray | float) -> np.ndarray:
        """Cumulative spend of every account by day `q` (one per account, or a scalar for all)."""
        n = self.n_accounts
        q = np.minimum(np.broadcast_to(np.asarray(q, dtype=float), (n,)), self.end)
        out = np.zeros(n)
        if len(self.code) == 0:
            return out
        codes = np.arange(n)
        i = np.searchsorted(self.code * CURVE_KEY + self.day, codes * CURVE_KEY + q, side="right") - 1
        has = i >= 0
        has[has] = self.code[i[has]] == codes[has]
        out[has] = self.value[i[has]]
        j = i + 1
        nxt = has & (j < len(self.code))
        nxt[nxt] = self.code[j[nxt]] == codes[nxt]
        i, j = i[nxt], j[nxt]
        rise = self.value[j] - self.value[i]
        out[nxt] += rise * (q[nxt] - self.day[i]) / (self.day[j] - self.day[i])
        return out

    def first_day(self) -> np.ndarray:
        """Each account's first knot (inf without one)."""
        first = np.full(self.n_accounts, np.inf)
        np.minimum.at(first, self.code, self.day)
        return first

    def level(self, start: np.ndarray | float, stop: np.ndarray | float) -> np.ndarray:
        """Spend per day over [start, stop), both clipped to the data's end; 0 for an empty span."""
        start = np.minimum(np.broadcast_to(np.asarray(start, dtype=float), (self.n_accounts,)), self.end)
        stop = np.minimum(np.broadcast_to(np.asarray(stop, dtype=float), (self.n_accounts,)), self.end)
        span = stop - start
        return np.divide(self.at(stop) - self.at(start), span, out=np.zeros(self.n_accounts), where=span > 0)


@dataclass(frozen=True)
class Step:
    """The step detector's figures at one candidate point, one value per account (`step_ratio`)."""

    ratio: np.ndarray  # after / before (0 where it cannot be measured)
    late_ratio: np.ndarray  # the second half of the after-window against its own level before
    before: np.ndarray  # spend per day
    after: np.ndarray  # spend per day


def step_ratio(curve: BuyingCurve, point: float, horizon_days: int) -> Step:
    """The buying level after a candidate step `point` (a day number) against the level before it.

    After: the level over [point, point + w), w = the level window, clipped to where the data tells the
    account's level (`BuyingCurve.known`). Before: the largest of the level over the year before `point`
    (or the history there is), over the last w days before it, and, when the account bought a year
    earlier, over the same window a year earlier (a repeated seasonal peak is not growth). The ratio is
    after / before (0 without a level before, or with less than a third of a horizon after `point`). The
    late ratio is the same for the second half of the after-window (the step has to hold), its level a
    year earlier standing for the same window's.
    """
    h = float(horizon_days)
    w = level_window(horizon_days)
    history = history_days_curve(curve, point)
    span = np.clip(np.minimum(w, curve.known - point), 0.0, None)
    half = point + span / 2
    year = np.clip(history, 1.0, YEAR_DAYS)
    recent = np.clip(history, 1.0, w)
    steady = np.maximum(curve.level(point - year, point), curve.level(point - recent, point))
    seasonal = history >= YEAR_DAYS + span
    before = np.where(
        seasonal, np.maximum(steady, curve.level(point - YEAR_DAYS, point - YEAR_DAYS + span)), steady
    )
    before_late = np.where(
        seasonal, np.maximum(steady, curve.level(half - YEAR_DAYS, point - YEAR_DAYS + span)), steady
    )
    ok = (before > 0) & (span >= h / 3) & (history > 0)
    after = curve.level(point, point + span)
    late = curve.level(half, point + span)
    zeros = np.zeros(curve.n_accounts)
    return Step(
        ratio=np.divide(after, before, out=zeros.copy(), where=ok),
        late_ratio=np.divide(late, before_late, out=zeros.copy(), where=ok & (before_late > 0)),
        before=before,
        after=after,
    )


def level_window(horizon_days: int) -> float:
    """Days over which a level is measured around a step: 4/3 of a horizon, within [60, 365]."""
    return float(np.clip(4 * horizon_days / 3, 60, YEAR_DAYS))


def history_days_curve(curve: BuyingCurve, at: float) -> np.ndarray:
    """Days from each account's first knot on the curve to `at`; -inf without one before `at`."""
    first = curve.first_day()
    return np.where(first < at, at - first, -np.inf)


def step_up(curve: BuyingCurve, at: float, horizon_days: int, growth: float) -> tuple[np.ndarray, np.ndarray]:
    """Per account: (True where its buying level steps up inside [at, at + h), the extra spend per day).

    Candidate step points are STEP_POINTS evenly spaced days of the horizon; a step counts at a point
    whose ratio and late ratio (`step_ratio`) are both at least 1 + growth and whose ratio is a local
    peak (no lower than at the points one spacing before and after it), so a step that happened before
    `at`, whose ratio is still falling at `at`, is not counted again. The first such point counts.
    """
    spacing = horizon_days / STEP_POINTS
    steps = [step_ratio(curve, at + k * spacing, horizon_days) for k in range(-1, STEP_POINTS + 1)]
    stepped = np.zeros(curve.n_accounts, dtype=bool)
    extra = np.zeros(curve.n_accounts)
    for k in range(1, STEP_POINTS + 1):
        step = steps[k]
        peak = (step.ratio >= steps[k - 1].ratio) & (step.ratio >= steps[k + 1].ratio)
        hit = peak & (step.ratio >= 1.0 + growth) & (step.late_ratio >= 1.0 + growth) & ~stepped
        extra = np.where(hit, step.after - step.before, extra)
        stepped |= hit
    return stepped, extra


def average_order_day(events: EventArrays, at: float) -> np.ndarray:
    """Positive spend per day with an order in the trailing year [at - 365d, at); 0 without orders."""
    accounts, totals = _order_days(events, (events.t < at) & (events.t >= at - YEAR_DAYS))
    spend = np.bincount(accounts, weights=totals, minlength=events.n_accounts)
    days = np.bincount(accounts, minlength=events.n_accounts)
    return np.divide(spend, days, out=np.zeros(events.n_accounts), where=days > 0)


def expansion_label(
    stepped: np.ndarray,
    extra_per_day: np.ndarray,
    horizon_days: int,
    typical_order: np.ndarray,
    established: np.ndarray,
    min_extra_orders: float,
) -> np.ndarray:
    """1.0 where an established account's buying level stepped up inside the horizon (`step_up`) by at least
    `min_extra_orders` of its average order-day over a horizon (rules 1-3 of the module docstring), 0.0
    where it did not, NaN where the account is not established (no baseline: unknown, not "no")."""
    material = extra_per_day * horizon_days >= min_extra_orders * typical_order
    grew = (stepped & material & (extra_per_day > 0)).astype(float)
    return np.where(established, grew, np.nan)


def targets_at(
    events: EventArrays, at: float, time: TimeConfig, curve: BuyingCurve | None = None
) -> dict[str, np.ndarray]:
    """Every target column at one cutoff, one value per account code, plus `active` (who gets a label).

    Columns: churn, expansion, horizon_spend, previous_spend (the h days before the cutoff),
    baseline_spend, uplift (expanding rows: the step's extra spend per day x h; others: horizon spend - the
    growth bar, max(baseline, recent run rate)). `curve` is
    the events' buying curve (built once for many cutoffs); without it, one is built over every event.
    """
    h = time.horizon_days
    curve = curve if curve is not None else BuyingCurve.build(events, np.inf)
    horizon_spend = _sum(events, (events.t >= at) & (events.t < at + h))
    previous_spend = _sum(events, (events.t >= at - h) & (events.t < at))
    baseline = baseline_spend(events, at, h)
    bar = np.maximum(baseline, recent_run_rate(events, at, h))
    stepped, extra = step_up(curve, at, h, time.expansion_growth)
    expansion = expansion_label(
        stepped,
        extra,
        h,
        average_order_day(events, at),
        history_days(events, at) >= h,
        time.expansion_min_extra_orders,
    )
    return {
        "active": active_at(events, at, time.active_lookback_days),
        "churn": churn_label(events, at, h),
        "expansion": expansion,
        "horizon_spend": horizon_spend,
        "previous_spend": previous_spend,
        "baseline_spend": baseline,
        "uplift": np.where(expansion == 1, extra * h, horizon_spend - bar),
    }
