"""Simulators used by the benchmarks and the tests that check the models against known processes.

They live with the benchmarks: the product never draws data from them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_btyd(
    n_customers: int,
    start: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
    r: float = 0.6,
    alpha: float = 40.0,
    a: float = 0.8,
    b: float = 2.5,
    p: float = 6.0,
    q: float = 4.0,
    v: float = 300.0,
) -> pd.DataFrame:
    """Transactions drawn exactly from BG/NBD + Gamma-Gamma, for tests and benchmarks; alpha is in days.

    Each customer's first purchase is uniform in the first half of [start, end); afterwards they buy at
    rate lambda ~ Gamma(r, rate alpha) per day and leave right after each repeat purchase with probability
    ~ Beta(a, b), i.e. after a Geometric number K of repeats. Given their count, Poisson event times are iid
    uniform, so all customers are drawn at once: a Poisson count over the remaining window, uniform times,
    and the first K of them kept. Order values are Gamma(p, rate nu) with nu ~ Gamma(q, rate v) per customer.
    """
    rng = np.random.default_rng(seed)
    span = (end - start) / pd.Timedelta(days=1)
    birth = rng.uniform(0.0, span / 2.0, n_customers)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout = np.clip(rng.beta(a, b, n_customers), 1e-12, 1.0)  # Geometric needs a probability > 0
    lifetime_repeats = rng.geometric(dropout)
    window = span - birth
    n_events = rng.poisson(rate * window)
    owner = np.repeat(np.arange(n_customers), n_events)
    when = birth[owner] + rng.uniform(0.0, 1.0, owner.size) * window[owner]
    order = np.lexsort((when, owner))
    owner, when = owner[order], when[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(n_events) - n_events, n_events)
    kept = rank < lifetime_repeats[owner]
    who = np.concatenate([np.arange(n_customers), owner[kept]])
    when = np.concatenate([birth, when[kept]])
    order_rate = rng.gamma(q, 1.0 / v, n_customers)
    amount = np.round(rng.gamma(p, 1.0 / order_rate[who]), 2)
    order = np.lexsort((when, who))
    ids = np.array([f"C{i:06d}" for i in range(1, n_customers + 1)], dtype=object)
    return pd.DataFrame(
        {
            "account_id": ids[who[order]],
            "date": start + pd.to_timedelta(np.floor(when[order]), unit="D"),
            "amount": amount[order],
        }
    )
