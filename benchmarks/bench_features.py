"""Feature build vs equivalent hand-written DuckDB SQL, on the same in-memory frames, in the same process.

The SQL computes the same history and engagement aggregates at one as-of date (windowed spend, orders and
distinct purchase days, trends, recency, tenure, gaps, lifetime spend, refund share, average deal, products,
12 monthly buckets for slope/volatility; activity counts by kind, executive contacts, distinct contacts).
Also times the build at 1/10 of the accounts to check the cost is linear in events.

    python benchmarks/bench_features.py [--accounts 100000]
"""

from __future__ import annotations

import argparse
import time

import duckdb
import pandas as pd

from potential.config import Config
from potential.data.schema import Dataset
from potential.features.build import build_features
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio

WINDOWS = (30, 90, 180, 365, 730)


def duckdb_sql(as_of: pd.Timestamp) -> str:
    t = f"TIMESTAMP '{as_of:%Y-%m-%d %H:%M:%S}'"
    age = f"(epoch({t}) - epoch(date)) / 86400.0"
    windows = ",\n".join(
        f"sum(amount) FILTER (WHERE {age} <= {w}) AS spend_{w}d, "
        f"count(*) FILTER (WHERE {age} <= {w} AND amount > 0) AS orders_{w}d, "
        f"count(DISTINCT CAST(date AS DATE)) FILTER (WHERE {age} <= {w} AND amount > 0) AS purchase_days_{w}d"
        for w in WINDOWS
    )
    trends = ",\n".join(
        f"sum(amount) FILTER (WHERE {age} > {w} AND {age} <= {2 * w}) AS prev_spend_{w}d"
        for w in (90, 180, 365)
    )
    buckets = ",\n".join(
        f"sum(amount) FILTER (WHERE {age} > {i * 30.4375} AND {age} <= {(i + 1) * 30.4375}) AS m{i}"
        for i in range(12)
    )
    return f"""
    WITH tx AS (SELECT * FROM transactions WHERE date < {t}),
    h AS (
      SELECT account_id,
        {windows},
        {trends},
        {buckets},
        {t}::DATE - max(date) FILTER (WHERE amount > 0)::DATE AS days_since_last_purchase,
        {t}::DATE - min(date) FILTER (WHERE amount > 0)::DATE AS tenure_days,
        count(DISTINCT CAST(date AS DATE)) FILTER (WHERE amount > 0) AS purchase_days_all,
        sum(amount) AS spend_lifetime,
        -sum(amount) FILTER (WHERE amount < 0 AND {age} <= 365.25) / nullif(sum(amount) FILTER (WHERE amount > 0 AND {age} <= 365.25), 0) AS refund_share_365d,
        avg(amount) FILTER (WHERE amount > 0 AND {age} <= 365.25) AS avg_deal_365d,
        count(DISTINCT product) FILTER (WHERE amount > 0 AND {age} <= 365.25) AS products_365d,
        count(DISTINCT product) FILTER (WHERE amount > 0 AND {age} > 365.25 AND {age} <= 730.5) AS products_prev_365d
      FROM tx GROUP BY account_id),
    act AS (SELECT * FROM activities WHERE date < {t}),
    e AS (
      SELECT account_id,
        count(*) FILTER (WHERE {age} <= 30) AS activities_30d, count(*) FILTER (WHERE {age} <= 90) AS activities_90d,
        count(*) FILTER (WHERE {age} <= 180) AS activities_180d, count(*) FILTER (WHERE {age} <= 365) AS activities_365d,
        count(*) FILTER (WHERE {age} > 90 AND {age} <= 180) AS activities_prev_90d,
        count(*) FILTER (WHERE kind = 'meeting' AND {age} <= 90) AS meeting_90d, count(*) FILTER (WHERE kind = 'meeting' AND {age} <= 365) AS meeting_365d,
        count(*) FILTER (WHERE kind = 'email' AND {age} <= 90) AS email_90d, count(*) FILTER (WHERE kind = 'email' AND {age} <= 365) AS email_365d,
        count(*) FILTER (WHERE kind = 'call' AND {age} <= 90) AS call_90d, count(*) FILTER (WHERE kind = 'call' AND {age} <= 365) AS call_365d,
        count(*) FILTER (WHERE kind = 'support_ticket' AND {age} <= 90) AS support_ticket_90d, count(*) FILTER (WHERE kind = 'support_ticket' AND {age} <= 365) AS support_ticket_365d,
        count(*) FILTER (WHERE kind = 'exec_meeting' AND {age} <= 90) AS exec_meeting_90d, count(*) FILTER (WHERE kind = 'exec_meeting' AND {age} <= 365) AS exec_meeting_365d,
        count(*) FILTER (WHERE seniority = 'executive' AND {age} <= 90) AS exec_contacts_90d,
        count(*) FILTER (WHERE seniority = 'executive' AND {age} <= 180) AS exec_contacts_180d,
        count(*) FILTER (WHERE seniority = 'executive' AND {age} <= 365) AS exec_contacts_365d,
        {t}::DATE - max(date)::DATE AS days_since_last_activity,
        {t}::DATE - max(date) FILTER (WHERE seniority = 'executive')::DATE AS days_since_exec_contact,
        count(DISTINCT contact_id) FILTER (WHERE {age} <= 365.25) AS distinct_contacts_365d
      FROM act GROUP BY account_id)
    SELECT a.account_id, h.*, e.*,
      (h.spend_90d - h.prev_spend_90d) / nullif(h.prev_spend_90d, 0) AS spend_trend_90d,
      (h.spend_180d - h.prev_spend_180d) / nullif(h.prev_spend_180d, 0) AS spend_trend_180d,
      (h.spend_365d - h.prev_spend_365d) / nullif(h.prev_spend_365d, 0) AS spend_trend_365d,
      (h.tenure_days - h.days_since_last_purchase) / nullif(h.purchase_days_all - 1, 0) AS purchase_gap_mean_days,
      regr_slope(v, x) AS spend_slope_12m, stddev_pop(v) / nullif(avg(v), 0) AS spend_volatility_12m
    FROM accounts a
    LEFT JOIN h USING (account_id) LEFT JOIN e USING (account_id)
    LEFT JOIN (SELECT account_id, x, v FROM h, LATERAL (VALUES
        (0, coalesce(m11, 0)), (1, coalesce(m10, 0)), (2, coalesce(m9, 0)), (3, coalesce(m8, 0)), (4, coalesce(m7, 0)), (5, coalesce(m6, 0)),
        (6, coalesce(m5, 0)), (7, coalesce(m4, 0)), (8, coalesce(m3, 0)), (9, coalesce(m2, 0)), (10, coalesce(m1, 0)), (11, coalesce(m0, 0))) AS b(x, v)
    ) m USING (account_id)
    GROUP BY ALL
    """


def time_both(accounts: int, seed: int = 1) -> dict[str, object]:
    portfolio = generate_portfolio(accounts, 36, seed)
    dataset = Dataset(portfolio.accounts, portfolio.transactions, portfolio.activities, None)
    config = Config()
    started = time.perf_counter()
    ours = build_features(dataset, DEFAULT_END, config.features)
    t_ours = time.perf_counter() - started
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("transactions", portfolio.transactions)
    con.register("activities", portfolio.activities)
    con.register("accounts", portfolio.accounts[["account_id"]])
    started = time.perf_counter()
    sql = con.execute(duckdb_sql(DEFAULT_END)).df()
    t_sql = time.perf_counter() - started
    check = sql.set_index("account_id")["spend_365d"].reindex(ours.index).fillna(0.0)
    assert (check - ours["spend_365d"]).abs().max() < 1e-6, "the SQL and the builders disagree on spend_365d"
    events = len(portfolio.transactions) + len(portfolio.activities)
    return {
        "accounts": accounts,
        "events": events,
        "features": ours.shape[1],
        "potential_s": round(t_ours, 2),
        "duckdb_s": round(t_sql, 2),
        "ratio_vs_duckdb": round(t_ours / t_sql, 2),
    }


def main(accounts: int = 100_000) -> list[dict[str, object]]:
    rows = [time_both(max(accounts // 10, 100)), time_both(accounts)]
    small, big = rows
    scale = (big["potential_s"] / small["potential_s"]) / (big["events"] / small["events"])
    print(pd.DataFrame(rows).to_string(index=False))
    print(
        f"time grows {big['potential_s'] / small['potential_s']:.1f}x for {big['events'] / small['events']:.1f}x the events "
        f"(time/event ratio {scale:.2f}; <= 1.1 is linear)"
    )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    main(parser.parse_args().accounts)
