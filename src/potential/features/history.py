"""Transaction-history features (RFM and beyond) at one as-of date, from events strictly before it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.features.timebase import day_of, rel_change, safe_ratio, to_days

TREND_WINDOWS = (90, 180, 365)
MONTH_DAYS = 365.25 / 12
NEW_PRODUCT_WINDOWS = (90, 180)  # trial orders of something new come one to six months before a step


@dataclass(frozen=True)
class TransactionArrays:
    """Transactions as aligned numpy arrays keyed by account code (built once, reused for every cutoff)."""

    n_accounts: int
    code: np.ndarray  # int account code per transaction
    t: np.ndarray  # float days since epoch
    amount: np.ndarray
    product: np.ndarray | None  # int product code or None
    day_code: np.ndarray  # int code of the distinct (account, day) of a positive transaction, -1 otherwise
    day_account: np.ndarray  # account code of each day code
    day_order: np.ndarray  # the day codes sorted by (account, day): consecutive purchase days are neighbours
    day_value: np.ndarray  # the day (days since epoch) of each day code
    # each (account, product) pair's first purchase: its account and time (a pair first bought before a
    # cutoff is known at it; one first bought later is not counted there)
    product_first_account: np.ndarray | None = None
    product_first_t: np.ndarray | None = None
    # line-item exports (an order_id column): int code of the distinct (account, order) of a positive line,
    # -1 otherwise; orders are counted as distinct codes, not lines. None: every positive row is one order
    order_code: np.ndarray | None = None
    order_account: np.ndarray | None = None  # account code of each order code

    @classmethod
    def build(cls, transactions: pd.DataFrame, account_index: pd.Index) -> TransactionArrays:
        code = account_codes(transactions["account_id"], account_index).astype(np.int64, copy=False)
        keep = code >= 0
        tx = transactions
        if not keep.all():
            tx, code = transactions.loc[keep], code[keep]
        t = to_days(tx["date"])
        amount = tx["amount"].to_numpy(dtype=float)
        product = None
        if "product" in tx.columns:
            product = text_codes(tx["product"])
        positive = amount > 0
        day = np.floor(t)
        day_code = np.full(len(code), -1, dtype=np.int64)
        day_account = np.zeros(0, dtype=np.int64)
        day_value = np.zeros(0, dtype=np.float32)
        # account x 1e6 + day of each day code: sorts as (account, day)
        day_keys = np.zeros(0, dtype=np.int64)
        if positive.any():
            day_code[positive], day_keys = pd.factorize(
                code[positive].astype(np.int64) * 1_000_000 + day[positive].astype(np.int64)
            )
            day_account = np.zeros(len(day_keys), dtype=np.int64)
            day_account[day_code[positive]] = code[positive]
            day_value = np.zeros(len(day_account), dtype=np.float32)  # whole days: exact in 32 bits
            day_value[day_code[positive]] = day[positive]
        # 32-bit: every cutoff reads it, and it stays in memory beside the transactions
        day_order = np.argsort(day_keys, kind="stable")
        day_order = day_order.astype(np.int32 if len(day_order) < 2**31 else np.int64)
        firsts = _first_purchase_of_products(code, product, t, positive)
        order_code = order_account = None
        if "order_id" in tx.columns:
            order_code = _order_codes(code, tx["order_id"], positive)
            order_account = np.zeros(int(order_code.max(initial=-1)) + 1, dtype=np.int64)
            order_account[order_code[positive]] = code[positive]
        return cls(
            n_accounts=len(account_index),
            code=code,
            t=t,
            amount=amount,
            product=product,
            day_code=day_code,
            day_account=day_account,
            day_order=day_order,
            day_value=day_value,
            product_first_account=firsts[0],
            product_first_t=firsts[1],
            order_code=order_code,
            order_account=order_account,
        )


def account_codes(ids: pd.Series, account_index: pd.Index) -> np.ndarray:
    """Position of each row's account id in `account_index` (-1 when it is not there)."""
    return positions_in(ids, account_index)


def positions_in(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each row's value in `index` (-1 when it is missing or not there).

    The lookup runs on the distinct values only: millions of events name a few thousand accounts. A
    categorical column has them already (the reader's events, the features' categories); other values
    take one hash pass over the rows.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, distinct = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, distinct = pd.factorize(values)
    positions = np.append(index.get_indexer(distinct), -1)  # code -1 (a missing value) -> -1
    return positions[codes]


def factorize_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code and the distinct values, read as text (a missing value reads as pandas writes it).

    A column the reader stored as a category (event kinds, products, contacts) has its codes already: no
    pass over the rows' text; the codes follow its categories, unused ones included. Other text is
    factorised in Arrow (never a Python object per row), codes in order of first appearance.
    """
    if isinstance(values.dtype, pd.CategoricalDtype) and not values.hasnans:
        return values.cat.codes.to_numpy(), values.cat.categories.astype(str).to_numpy()
    codes, distinct = pd.factorize(values.astype(str))
    return codes, np.asarray(distinct)


def text_codes(values: pd.Series) -> np.ndarray:
    """Integer code of each text value in order of first appearance; -1 for a blank or missing value.

    As 32-bit integers: half the memory of millions of 64-bit codes. Codes in order of first appearance
    let `first_rows` find each value's first row without sorting.
    """
    codes, distinct = factorize_text(values)
    if isinstance(values.dtype, pd.CategoricalDtype) and len(codes):  # renumbered as the text would be
        codes, used = pd.factorize(codes)
        distinct = distinct[used]
    blank = np.append(np.asarray(distinct == "", dtype=bool), True)
    return np.where(blank[codes], -1, codes).astype(np.int32)


def _order_codes(code: np.ndarray, order_id: pd.Series, positive: np.ndarray) -> np.ndarray:
    """Code of the distinct (account, order id) of each positive line, -1 for other lines.

    A positive line with a blank order id is an order of its own.
    """
    out = np.full(len(code), -1, dtype=np.int64)
    if not positive.any():
        return out
    ids, distinct = factorize_text(order_id[positive])
    blank = np.append(np.asarray(distinct == "", dtype=bool), False)[ids]  # a missing id (-1) is not blank
    width = int(ids.max()) + 2
    keys = code[positive] * width + ids
    keys[blank] = -1 - np.flatnonzero(blank)  # unique per line
    out[positive] = pd.factorize(keys)[0]
    return out


def _orders(arr: TransactionArrays, mask: np.ndarray) -> np.ndarray:
    """Orders per account among the masked positive lines: rows, or distinct order ids when the export has them."""
    if arr.order_code is None or arr.order_account is None:
        return _sum(arr, mask)
    codes = arr.order_code[mask]
    seen = np.zeros(len(arr.order_account), dtype=bool)
    seen[codes[codes >= 0]] = True
    return np.bincount(arr.order_account[seen], minlength=arr.n_accounts).astype(float)


def _sum(arr: TransactionArrays, mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    w = None if weights is None else weights[mask]
    return np.bincount(arr.code[mask], weights=w, minlength=arr.n_accounts).astype(float)


DENSE_LIMIT = 64_000_000  # (group, value) key spaces up to this size use a bitmap instead of a sort


def distinct_count(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Number of distinct non-negative integer `values` per group code (linear time for dense key spaces)."""
    if len(groups) == 0:
        return np.zeros(n)
    width = int(values.max()) + 1
    keys = groups.astype(np.int64) * width + values.astype(np.int64)
    if n * width <= DENSE_LIMIT:
        seen = np.zeros(n * width, dtype=bool)
        seen[keys] = True
        keys = np.flatnonzero(seen)
    else:
        keys = np.unique(keys)
    return np.bincount(keys // width, minlength=n).astype(float)


def _seen_days(arr: TransactionArrays, mask: np.ndarray) -> np.ndarray:
    """Which day codes the masked (positive) transactions fall on, in linear time."""
    seen = np.zeros(len(arr.day_account), dtype=bool)
    seen[arr.day_code[mask]] = True
    return seen


def _purchase_days(arr: TransactionArrays, seen: np.ndarray) -> np.ndarray:
    """Distinct purchase days per account among the `seen` day codes (`_seen_days`)."""
    return np.bincount(arr.day_account[seen], minlength=arr.n_accounts).astype(float)


def _gap_rhythm(arr: TransactionArrays, seen: np.ndarray, mean_gap: np.ndarray) -> dict[str, np.ndarray]:
    """How regular an account's purchase days are and whether it is slowing down, among the `seen` day codes
    (`_seen_days`): the spread of the gaps between purchase days over their mean (0 = like clockwork; a
    memoryless buyer is near 1), and the latest gap over the mean (above 1 = the last order came late).
    NaN below three purchase days. Linear time: the day codes are sorted by (account, day) once."""
    n = arr.n_accounts
    ordered = arr.day_order[seen[arr.day_order]]
    account, day = arr.day_account[ordered], arr.day_value[ordered].astype(float)
    same = account[1:] == account[:-1]
    gap, owner = np.diff(day)[same], account[1:][same]
    count = np.bincount(owner, minlength=n).astype(float)
    mean_square = safe_ratio(np.bincount(owner, weights=gap * gap, minlength=n), count)
    spread = np.sqrt(np.maximum(mean_square - mean_gap**2, 0.0))
    last = np.full(n, np.nan)
    latest = np.flatnonzero(np.append(owner[1:] != owner[:-1], True)) if len(owner) else owner
    last[owner[latest]] = gap[latest]  # owners ascend and days ascend within one: its last gap is its latest
    enough = count >= 2
    return {
        "purchase_gap_cv": np.where(enough, safe_ratio(spread, mean_gap), np.nan),
        "purchase_gap_last_ratio": np.where(enough, safe_ratio(last, mean_gap), np.nan),
    }


def history_features(
    arr: TransactionArrays, as_of: pd.Timestamp, windows: Sequence[int]
) -> dict[str, np.ndarray]:
    """One value per account code for every history feature; only transactions with date < as_of count."""
    T = day_of(as_of)
    past = arr.t < T
    age = T - arr.t
    positive = arr.amount > 0
    n = arr.n_accounts
    out: dict[str, np.ndarray] = {}

    for w in windows:
        in_w = past & (age <= w)
        out[f"spend_{w}d"] = _sum(arr, in_w, arr.amount)
        out[f"orders_{w}d"] = _orders(arr, in_w & positive)
        out[f"purchase_days_{w}d"] = _purchase_days(arr, _seen_days(arr, in_w & positive))
    for w in TREND_WINDOWS:
        current = _sum(arr, past & (age <= w), arr.amount)
        previous = _sum(arr, past & (age > w) & (age <= 2 * w), arr.amount)
        out[f"spend_trend_{w}d"] = rel_change(current, previous)

    pos_past = past & positive
    last = np.full(n, np.nan)
    first = np.full(n, np.nan)
    if pos_past.any():
        np.fmax.at(last, arr.code[pos_past], arr.t[pos_past])
        np.fmin.at(first, arr.code[pos_past], arr.t[pos_past])
    out["days_since_last_purchase"] = T - last
    out["tenure_days"] = T - first
    seen = _seen_days(arr, pos_past)
    days = _purchase_days(arr, seen)
    span = np.floor(last) - np.floor(first)
    gap = safe_ratio(span, days - 1)
    out["purchase_gap_mean_days"] = gap
    out["purchase_gap_ratio"] = safe_ratio(out["days_since_last_purchase"], gap)
    out.update(_gap_rhythm(arr, seen, gap))
    out["spend_lifetime"] = _sum(arr, past, arr.amount)
    out["purchase_days_lifetime"] = days

    # twelve monthly buckets: slope (relative to the mean month) and volatility
    year = past & (age <= 365.25)
    bucket = np.minimum((age[year] // MONTH_DAYS).astype(np.int64), 11)
    monthly = np.bincount(arr.code[year] * 12 + bucket, weights=arr.amount[year], minlength=n * 12).reshape(
        n, 12
    )
    monthly = monthly[:, ::-1]  # oldest -> newest
    x = np.arange(12) - 5.5
    mean = monthly.mean(axis=1)
    slope = (monthly * x).sum(axis=1) / (x**2).sum()
    out["spend_slope_12m"] = safe_ratio(slope, np.abs(mean))
    out["spend_volatility_12m"] = safe_ratio(monthly.std(axis=1), np.abs(mean))
    out["active_months_12m"] = (monthly > 0).sum(axis=1).astype(float)

    gross = _sum(arr, year & positive, arr.amount)
    refunds = np.abs(_sum(arr, year & ~positive, arr.amount))
    out["refund_share_365d"] = safe_ratio(refunds, gross)
    orders_year = _orders(arr, year & positive)
    out["avg_deal_365d"] = safe_ratio(gross, orders_year)

    out["month_of_year"] = np.full(n, float(pd.Timestamp(as_of).month))  # budget seasons are calendar-bound
    if arr.product is not None:
        has = arr.product >= 0
        # products bought for the first time in the last 90 / 180 days (trials of something new); an account's very
        # first purchases are all new, so only products first bought after its first 90 days count
        if arr.product_first_account is not None and arr.product_first_t is not None:
            pair_account, pair_first = arr.product_first_account, arr.product_first_t
            since = T - pair_first
            settled = pair_first - first[pair_account] > 90
            for w in NEW_PRODUCT_WINDOWS:
                fresh = (since > 0) & (since <= w) & settled
                out[f"new_products_{w}d"] = np.bincount(pair_account[fresh], minlength=n).astype(float)
        cur = year & positive & has
        prev = past & positive & has & (age > 365.25) & (age <= 730.5)
        products = distinct_count(arr.code[cur], arr.product[cur], n)
        out["products_365d"] = products
        out["products_trend_365d"] = products - distinct_count(arr.code[prev], arr.product[prev], n)
    return out


def _first_purchase_of_products(
    code: np.ndarray, product: np.ndarray | None, t: np.ndarray, positive: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per (account, product) pair with a purchase: its account code and the time of its first purchase."""
    if product is None:
        return None, None
    bought = positive & (product >= 0)
    if not bought.any():
        return np.zeros(0, np.int64), np.zeros(0)
    width = int(product.max()) + 1
    first = first_rows(code[bought] * width + product[bought], t[bought])
    return code[bought][first], t[bought][first]


def first_rows(keys: np.ndarray, t: np.ndarray, numbered: bool = False) -> np.ndarray:
    """Row of each distinct key's earliest event (the first in row order among equally early ones).

    Rows in time order (as every loaded table is) need no sort: a key's first row is its earliest, found in
    one hash pass, or none when the keys are `numbered` already (each new key larger than every key before
    it, as codes from `pd.factorize` are). Other rows are sorted by key, then time.
    """
    if len(t) < 2 or bool((t[1:] >= t[:-1]).all()):
        codes = keys if numbered else pd.factorize(keys)[0]  # numbered in order of first appearance
        running = np.maximum.accumulate(codes)
        return np.flatnonzero(np.r_[True, running[1:] > running[:-1]])
    order = np.lexsort((t, keys))  # by key, earliest first
    sorted_keys = keys[order]
    return order[np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]]


def deal_sums(arr: TransactionArrays, as_of: pd.Timestamp) -> np.ndarray:
    """[sum, orders] of positive amounts in the year before as_of, then of all before it.

    Additive, so partitions' sums add up to the portfolio's; `average_deal` turns them into the average.
    """
    T = day_of(as_of)
    before = (arr.t < T) & (arr.amount > 0)
    year = before & (arr.t >= T - 365.25)
    year_n, all_n = (float(_orders(arr, mask).sum()) for mask in (year, before))
    return np.array([arr.amount[year].sum(), year_n, arr.amount[before].sum(), all_n], dtype=float)


def average_deal(sums: np.ndarray) -> float:
    """Average positive transaction amount over the year before as_of (all history if that year is empty)."""
    year_sum, year_n, all_sum, all_n = sums
    if year_n:
        return float(year_sum / year_n)
    return float(all_sum / all_n) if all_n else float("nan")
