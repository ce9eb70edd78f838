"""How the story is recorded: the transactions and activities tables a CRM / ERP export would hold.

- Demand per month = base (wallet x share / 12) x season x expansion level x spend shape x churn wind-down
  x noise. Orders book the demand accrued since the previous order (monthly, bi-monthly or quarterly
  cadence; orders are skipped more often while winding down), so no spend is lost but orders are lumpy.
- Products: the account buys from a span of products that widens at an expansion; trial orders buy the
  next product past the span (one the account has never bought).
- Activities: meetings, emails and calls follow the relationship, the run-up ramp, a busy-month factor
  and the demand level; support tickets rise in the churn wind-down; executive meetings follow the
  executive sponsor plus the run-up's extra meetings. New contacts open with an introduction activity and
  then join the pool of contacts later activities are spread over.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from potential.synthetic.story import PRODUCTS, Story
from potential.synthetic.world import SEASON_AMPLITUDE, World

SEASON = np.array([0.85, 0.9, 1.06, 0.98, 1.02, 0.98, 0.82, 0.76, 1.02, 1.08, 1.16, 1.37])  # Jan..Dec
DAY = np.timedelta64(1, "D").astype("timedelta64[ns]")
BASE_ROLES = np.array(["buyer", "user", "it", "user", "finance", "buyer", "procurement", "it"], dtype=object)
EXEC_CONTACT = 999  # contact number of the executive met in executive meetings ("-X0")
TX_KINDS = ("order", "renewal", "refund")
ACTIVITY_KINDS = ("meeting", "email", "call", "support_ticket", "exec_meeting")
KEY = 1000  # contact key = account index * KEY + contact number


STR_DTYPE = pd.Series(["a"]).dtype  # the dtype pandas gives text by default (Arrow-backed "str" since 3.0)


def text(labels: np.ndarray | list[str], codes: np.ndarray) -> pd.Series:
    """A string column `labels[codes]` of pandas' default text dtype.

    With Arrow-backed strings it is built by Arrow, far faster than converting a Python object array.
    """
    labels = np.asarray(labels, dtype=object)
    if getattr(STR_DTYPE, "storage", None) != "pyarrow":
        return pd.Series(labels[codes])
    taken = pa.array(labels, pa.large_string()).take(pa.array(codes))
    return pd.Series(taken, dtype=STR_DTYPE)


def season_grid(w: World) -> np.ndarray:
    """Seasonal demand factor per account and month: the SEASON curve scaled by the industry's amplitude."""
    amplitude = np.array(SEASON_AMPLITUDE)[w.industry_idx][:, None]
    return 1 + amplitude * (SEASON[w.calendar] - 1)[None, :]


def _days(month_start: np.ndarray, months: np.ndarray, days: np.ndarray) -> np.ndarray:
    return month_start[months] + days.astype(np.int64) * DAY


def transactions(rng: np.random.Generator, w: World, s: Story) -> pd.DataFrame:
    """Orders, renewals, trial orders and refunds, sorted by date then account."""
    n, m = w.n, w.m
    t = np.arange(m)[None, :]
    monthly = w.wallet * w.share / 12
    cadence = rng.choice(np.array([1, 2, 3]), n, p=(0.75, 0.15, 0.10))
    phase = rng.integers(0, 3, n)
    scheduled = ((t + phase[:, None]) % cadence[:, None]) == 0
    keep = rng.uniform(size=(n, m)) < 0.93 * np.where(s.winding_down, s.decline, 1.0)
    has_order = scheduled & keep & s.alive
    counts = has_order.astype(int) + (has_order & (rng.uniform(size=(n, m)) < 0.12))
    season = season_grid(w)
    demand = (
        monthly[:, None] * season * s.level * s.shape * s.decline * rng.lognormal(0, 0.12, (n, m)) * s.alive
    )
    cumulative = np.cumsum(demand, axis=1)
    last = np.maximum.accumulate(np.where(has_order, t, -1), axis=1)
    previous = np.concatenate([np.full((n, 1), -1), last[:, :-1]], axis=1)
    booked = cumulative - np.where(
        previous >= 0, np.take_along_axis(cumulative, np.maximum(previous, 0), axis=1), 0.0
    )
    acc_i, mon_i = np.nonzero(counts)
    reps = counts[acc_i, mon_i]
    acc_o = np.repeat(acc_i, reps)
    mon_o = np.repeat(mon_i, reps)
    amount = booked[acc_o, mon_o] / reps.repeat(reps) * rng.lognormal(0, 0.1, len(acc_o))
    order_day = rng.integers(2, 26, n)  # each account orders around its own day of the month
    day = np.clip(order_day[acc_o] + rng.integers(-2, 3, len(acc_o)), 0, 27)
    base_product = rng.integers(0, PRODUCTS, n)
    product = (base_product[acc_o] + rng.integers(0, 1 << 30, len(acc_o)) % s.span[acc_o, mon_o]) % PRODUCTS
    kind = (rng.uniform(size=len(acc_o)) < 0.1).astype(np.int64)  # TX_KINDS code

    tr = s.trials
    trial_amount = (
        monthly[tr.account] * season[tr.account, tr.month] * s.level[tr.account, tr.month] * tr.size
    )
    trial_product = (base_product[tr.account] + s.span[tr.account, tr.month] + tr.offset) % PRODUCTS
    acc_o = np.concatenate([acc_o, tr.account])
    mon_o = np.concatenate([mon_o, tr.month])
    day = np.concatenate([day, rng.integers(0, 28, len(tr.account))])
    amount = np.maximum(np.round(np.concatenate([amount, trial_amount]), 2), 1.0)
    product = np.concatenate([product, trial_product])
    kind = np.concatenate([kind, np.zeros(len(tr.account), np.int64)])

    dates = np.maximum(_days(w.month_start, mon_o, day), w.created[acc_o])
    unit_price = np.round(rng.uniform(40, 400, PRODUCTS), 2)
    quantity = np.maximum(1, np.round(amount / unit_price[product])).astype(int)
    refund = rng.uniform(size=len(acc_o)) < 0.03
    r_dates = dates[refund] + rng.integers(3, 60, int(refund.sum())) * DAY
    r_keep = r_dates < np.datetime64(pd.Timestamp(w.month_start[-1]) + pd.DateOffset(months=1))
    r_amount = -np.round(amount[refund][r_keep] * rng.uniform(0.1, 0.6, int(r_keep.sum())), 2)
    account = np.concatenate([acc_o, acc_o[refund][r_keep]])
    date = np.concatenate([dates, r_dates[r_keep]])
    order = np.lexsort((account, date))
    product_names = [f"P{i + 1:02d}" for i in range(PRODUCTS)]
    return pd.DataFrame(
        {
            "account_id": text(w.ids, account[order]),
            "date": date[order],
            "amount": np.concatenate([amount, r_amount])[order],
            "product": text(product_names, np.concatenate([product, product[refund][r_keep]])[order]),
            "quantity": np.concatenate([quantity, quantity[refund][r_keep]])[order],
            "kind": text(TX_KINDS, np.concatenate([kind, np.full(int(r_keep.sum()), 2)])[order]),
        }
    )


def _contact_labels(w: World, s: Story, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """contact_id, contact_role and seniority of each contact key (account index * KEY + number)."""
    account, number = keys // KEY, keys % KEY
    executive = number == EXEC_CONTACT
    initial = ~executive & (number < w.num_contacts[account])
    role = BASE_ROLES[number % len(BASE_ROLES)]
    seniority = np.where((number == 0) | (number % 3 == 1), "manager", "staff").astype(object)
    c = s.contacts
    known = c.account * KEY + c.number
    later = ~executive & ~initial
    at = np.searchsorted(known, keys[later])
    role[later] = c.role[at]
    seniority[later] = c.seniority[at]
    role[executive] = "executive"
    seniority[executive] = "executive"
    suffix = np.where(executive, "-X0", "-K" + number.astype(str).astype(object))
    return w.ids[account] + suffix, role, seniority


def activities(rng: np.random.Generator, w: World, s: Story) -> pd.DataFrame:
    """Meetings, emails, calls, support tickets and executive meetings, sorted by date then account."""
    n, m = w.n, w.m
    t = np.arange(m)[None, :]
    engaged = 0.3 + 1.4 * w.relation
    exists = t >= w.created_month[:, None]
    after = np.where(s.alive | w.prospect[:, None], 1.0, 0.05) * exists
    prospect_f = np.where(w.prospect, 0.3, 1.0)[:, None]
    busy = rng.lognormal(0, 0.3, (n, m))
    warm = engaged[:, None] * s.decline * s.ramp * busy * s.level**0.25
    rates = {  # in ACTIVITY_KINDS order
        "meeting": 0.3 * warm,
        "email": 0.75 * warm,
        "call": 0.25 * warm,
        "support_ticket": (0.12 + 0.1 * (w.product_suitability <= 2))[:, None]
        * np.where(s.winding_down, 2.5, 1.0),
        "exec_meeting": (0.04 + 0.22 * w.exec_sponsor)[:, None] * s.decline + s.exec_extra,
    }
    c = s.contacts
    arrivals = np.zeros(n * m)
    np.add.at(arrivals, c.account * m + c.month, 1)
    pool = w.num_contacts[:, None] + np.cumsum(arrivals.reshape(n, m), axis=1)

    accounts, months, kinds, numbers = [], [], [], []
    for code, (kind, lam) in enumerate(rates.items()):
        count = rng.poisson(lam * after * prospect_f)
        a_i, m_i = np.nonzero(count)
        r = count[a_i, m_i]
        a_o, m_o = np.repeat(a_i, r), np.repeat(m_i, r)
        if kind == "exec_meeting":
            number = np.full(len(a_o), EXEC_CONTACT)
        else:
            number = (rng.uniform(size=len(a_o)) * pool[a_o, m_o]).astype(int)
        accounts.append(a_o)
        months.append(m_o)
        kinds.append(np.full(len(a_o), code))
        numbers.append(number)
    # every new contact opens with an introduction: executives in an executive meeting
    intro = np.where(
        c.role == "executive", ACTIVITY_KINDS.index("exec_meeting"), rng.integers(0, 3, len(c.account))
    )
    accounts.append(c.account)
    months.append(c.month)
    kinds.append(intro)
    numbers.append(c.number)

    account = np.concatenate(accounts)
    month = np.concatenate(months)
    dates = np.maximum(_days(w.month_start, month, rng.integers(0, 28, len(account))), w.created[account])
    codes, keys = pd.factorize(account * KEY + np.concatenate(numbers))
    contact_id, role, seniority = _contact_labels(w, s, np.asarray(keys))
    order = np.lexsort((account, dates))
    codes = codes[order]
    role_codes, role_names = pd.factorize(role)
    seniority_codes, seniority_names = pd.factorize(seniority)
    return pd.DataFrame(
        {
            "account_id": text(w.ids, account[order]),
            "date": dates[order],
            "kind": text(ACTIVITY_KINDS, np.concatenate(kinds)[order]),
            "contact_id": text(contact_id, codes),
            "contact_role": text(role_names, role_codes[codes]),
            "seniority": text(seniority_names, seniority_codes[codes]),
        }
    )
