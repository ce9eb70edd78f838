"""The target definitions on hand-built histories, with the expected labels and money written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from potential.config import Config, load_config
from potential.data.schema import Dataset
from potential.errors import ConfigError
from potential.features.build import prepare
from potential.features.timebase import day_of
from potential.labels.targets import (
    BuyingCurve,
    Events,
    baseline_at,
    baseline_spend,
    step_ratio,
    targets_at,
)
from potential.labels.training_set import labels_at

CUTOFF = pd.Timestamp(
    "2025-01-01"
)  # trailing year [2024-01-02, 2025-01-01); horizon [2025-01-01, 2025-04-01)
AS_OF = pd.Timestamp("2025-06-01")


def monthly(start: str, end: str, amount: float, day: int = 15) -> list[tuple[pd.Timestamp, float]]:
    """One order of `amount` on `day` of every month from `start` to `end` (inclusive)."""
    months = pd.date_range(start, end, freq="MS")
    return [(m + pd.Timedelta(days=day - 1), amount) for m in months]


def frame(**accounts: list[tuple[pd.Timestamp | str, float]]) -> pd.DataFrame:
    rows = [(a, pd.Timestamp(d), float(x)) for a, orders in accounts.items() for d, x in orders]
    return pd.DataFrame(rows, columns=["account_id", "date", "amount"])


def labels(tx: pd.DataFrame, config: Config | None = None, cutoff: pd.Timestamp = CUTOFF) -> pd.DataFrame:
    config = config or Config()
    ids = pd.unique(tx["account_id"])
    ds = Dataset(pd.DataFrame({"account_id": ids}), tx, None, None)
    return labels_at(prepare(ds, AS_OF, config.features), cutoff, config)


# the account of the module docstring: 1,000 on the 15th of every month since 2023-06-15
STEADY = monthly("2023-06-01", "2024-12-01", 1000.0)
JAN = (pd.Timestamp("2025-01-15"), 1000.0)


def after(amount: float, start: str = "2025-02-01") -> list[tuple[pd.Timestamp, float]]:
    """`amount` on the 15th of every month from `start` to May 2025 (the data ends at AS_OF, June 1)."""
    return monthly(start, "2025-05-01", amount)


def step_at(tx: pd.DataFrame, point: str) -> tuple[float, float, float, float]:
    """(ratio, level before, level after, late ratio) of account 'a' at a step point, data up to AS_OF."""
    events = Events.from_frame(tx, pd.Index(["a"]))
    step = step_ratio(BuyingCurve.build(events, day_of(AS_OF)), day_of(pd.Timestamp(point)), 90)
    return float(step.ratio[0]), float(step.before[0]), float(step.after[0]), float(step.late_ratio[0])


def test_worked_example_sustained_step_up_is_expansion():
    tx = frame(a=STEADY + [JAN] + after(1800.0))
    row = labels(tx).loc["a"]
    assert row["expansion"] == 1.0 and row["churn"] == 0.0
    # the step point is 2025-01-16: the Feb 15 order (1,800) pays for Jan 16 .. Feb 15
    ratio, before, after_, late = step_at(tx, "2025-01-16")
    assert after_ == pytest.approx(7200 / 120)  # Feb..May orders over [Jan 16, May 16)
    assert before == pytest.approx(1000 * 12 / 365, rel=0.02)  # the year before: 1,000 a month
    assert ratio == pytest.approx(1.8, rel=0.02) and late == pytest.approx(ratio, rel=0.02)
    # a local peak: half a month either side the ratio is lower
    assert step_at(tx, "2025-01-01")[0] < ratio and step_at(tx, "2025-01-31")[0] < ratio
    assert row["baseline_spend"] == pytest.approx(3000.0)  # max(12,000 x 90/365, last year's 3,000)
    assert row["horizon_spend"] == 1000 + 1800 + 1800
    # the new money per horizon at the new level; 4,600 - 3,000 would undercount it (the Jan 15 order
    # still pays for the old level)
    assert row["uplift"] == pytest.approx((after_ - before) * 90)
    assert row["uplift"] == pytest.approx(2424, rel=0.01)


def test_dip_and_return_is_not_expansion():
    # nothing in Oct-Dec 2024, a 3,000 catch-up on Jan 15, then back to 1,000 a month
    dip = [(d, x) for d, x in STEADY if d < pd.Timestamp("2024-10-01")]
    tx = frame(a=dip + [("2025-01-15", 3000)] + after(1000.0))
    row = labels(tx).loc["a"]
    assert row["previous_spend"] == 0.0  # the old rule compared the horizon with this and said "expansion"
    assert row["horizon_spend"] == 5000.0
    assert row["expansion"] == 0.0
    # the catch-up is spread over the four months it pays for: the level never rises
    assert max(step_at(tx, p)[0] for p in ("2025-01-01", "2025-01-16", "2025-02-15")) < 1.2


def test_seasonal_peak_that_repeats_last_year_is_not_expansion():
    # 2,000 a month in Jan-Mar, 1,000 otherwise, in 2023, 2024 and 2025 (x factor from February 2025)
    def seasonal(factor: float) -> list[tuple[pd.Timestamp, float]]:
        orders = monthly("2023-01-01", "2025-05-01", 1000.0)
        return [
            (d, x * (2 if d.month <= 3 else 1) * (factor if d >= pd.Timestamp("2025-02-01") else 1))
            for d, x in orders
        ]

    assert labels(frame(a=seasonal(1.0))).loc["a", "expansion"] == 0.0
    # last year's same window sets the bar: the level over [Jan 1, May 1) is last year's
    ratio, before, after_, _ = step_at(frame(a=seasonal(1.0)), "2025-01-01")
    assert ratio == pytest.approx(1.0, abs=0.05)
    # the same season at 2.5x last year's level is growth (from the February order, which pays from
    # Jan 16 on); the late half of the window (April, May) is held against the year's average, which
    # includes the peak months, so it reads 2.5 x 1,000 / (15,000 / 12) = 2.0
    assert labels(frame(a=seasonal(2.5))).loc["a", "expansion"] == 1.0
    ratio, _, _, late = step_at(frame(a=seasonal(2.5)), "2025-01-16")
    assert ratio == pytest.approx(2.5, rel=0.02) and late == pytest.approx(2.0, rel=0.03)
    # at twice last year's level the late half reads 1.6, under the default bar of 1.7: not yet
    assert labels(frame(a=seasonal(2.0))).loc["a", "expansion"] == 0.0


def test_one_big_order_alone_is_not_expansion():
    # 1,000 a month, then one 5,000 order in February among normal ones: the level does not hold
    tx = frame(a=STEADY + [JAN, ("2025-02-15", 5000)] + after(1000.0, "2025-03-01"))
    row = labels(tx).loc["a"]
    assert row["horizon_spend"] == 7000.0
    assert row["uplift"] == pytest.approx(4000.0)
    ratio, _, _, late = step_at(tx, "2025-01-16")
    assert ratio >= 1.5  # the window holding the big order is up ...
    assert late < 1.1  # ... but its second half is back to normal
    assert row["expansion"] == 0.0


def test_catch_up_order_is_not_expansion_even_after_one_last_year():
    # 1,000 a month; May 2024 skipped and caught up in June, December skipped and caught up in January
    past = [(d, 2000.0 if d.month == 6 and d.year == 2024 else x) for d, x in STEADY]
    past = [(d, x) for d, x in past if not (d.year == 2024 and d.month in (5, 12))]
    tx = frame(a=past + [("2025-01-15", 2000)] + after(1000.0))
    assert labels(tx).loc["a", "expansion"] == 0.0


def test_growth_worth_less_than_the_minimum_extra_is_not_expansion():
    # 3,000 a quarter, then 5,400 from the Feb 15 order, which pays for Nov 16 .. Feb 15: the level is 80%
    # up from Nov 16, worth about 0.6 x 3,000 = 1,800 a horizon
    quarterly = [(d, x) for d, x in monthly("2023-02-01", "2024-11-01", 3000.0) if d.month % 3 == 2]
    tx = frame(a=quarterly + [("2025-02-15", 5400), ("2025-05-15", 5400)])
    november = pd.Timestamp("2024-11-01")
    strict = Config().with_overrides({"time.expansion_min_extra_orders": 1.0})  # >= 3,000 a horizon
    assert labels(tx, strict, cutoff=november).loc["a", "expansion"] == 0.0
    assert labels(tx, cutoff=november).loc["a", "expansion"] == 1.0  # the default 0.5 asks for 1,500


def test_same_history_in_a_currency_1000x_smaller_gets_the_same_labels():
    orders = {
        "step_up": STEADY + [JAN] + after(1800.0),
        "flat": STEADY + [JAN] + after(1100.0),
        "gone": STEADY,
    }
    big = labels(frame(**orders))
    small = labels(frame(**{a: [(d, x / 1000) for d, x in o] for a, o in orders.items()}))
    assert big["expansion"].to_dict() == {"step_up": 1.0, "flat": 0.0, "gone": 0.0}
    assert big["churn"].to_dict() == {"step_up": 0.0, "flat": 0.0, "gone": 1.0}
    pd.testing.assert_frame_equal(small[["churn", "expansion"]], big[["churn", "expansion"]])
    np.testing.assert_allclose(small["baseline_spend"] * 1000, big["baseline_spend"])


def test_new_account_has_no_expansion_label():
    # first order on 2024-12-10, 1,500 a month from January
    tx = frame(a=[("2024-12-10", 1000)] + monthly("2025-01-01", "2025-05-01", 1500.0, day=20))
    row = labels(tx).loc["a"]
    assert row["baseline_spend"] == pytest.approx(1000.0)  # 22 days of history count as one horizon
    assert row["churn"] == 0.0
    # not established: no baseline to grow against, so unknown (not "no": new accounts do expand)
    assert np.isnan(row["expansion"])


def test_young_account_run_rate_is_scaled_by_its_history():
    # first order 2024-07-01 (184 days before the cutoff): 6 x 1,000 in the trailing year -> 6,000 x 90/184
    tx = frame(a=monthly("2024-07-01", "2024-12-01", 1000.0, day=1))
    assert labels(tx).loc["a", "baseline_spend"] == pytest.approx(6000 * 90 / 184)


def test_revenue_at_risk_of_a_slipping_account_is_its_baseline():
    # bought 1,000 a month until July 2024, nothing since: the last 90 days are 0, the baseline is not
    tx = frame(a=monthly("2023-06-01", "2024-07-01", 1000.0))
    at_risk = baseline_at(tx, CUTOFF, 90)
    # trailing year: Jan-Jul 2024 = 7 orders = 7,000 -> 7,000 x 90/365; last year's Jan-Mar window 3,000 is more
    assert at_risk.loc["a"] == pytest.approx(3000.0)
    assert at_risk.loc["a"] > 0


def test_scoring_baseline_is_the_label_baseline():
    rng = np.random.default_rng(7)
    n = 400
    tx = pd.DataFrame(
        {
            "account_id": rng.choice([f"acc{i}" for i in range(25)], n),
            "date": pd.Timestamp("2022-06-01") + pd.to_timedelta(rng.uniform(0, 1000, n), unit="D"),
            "amount": np.round(rng.lognormal(6, 1, n) * rng.choice([1, 1, 1, -0.2], n), 2),
        }
    )
    for cutoff in (pd.Timestamp("2023-03-01"), CUTOFF, pd.Timestamp("2024-06-17 12:00")):
        label = labels(tx, cutoff=cutoff)["baseline_spend"]
        scoring = baseline_at(tx, cutoff, 90).reindex(label.index)
        np.testing.assert_allclose(scoring.to_numpy(), label.to_numpy(), rtol=1e-12)


def test_baseline_reads_only_events_before_the_date():
    tx = frame(a=STEADY)
    later = frame(a=STEADY + [(CUTOFF, 50_000), ("2025-02-01", 9000)])  # one exactly at the cutoff
    assert baseline_at(later, CUTOFF, 90).loc["a"] == baseline_at(tx, CUTOFF, 90).loc["a"]
    events = Events.from_frame(later, pd.Index(["a"]))
    assert baseline_spend(events, day_of(CUTOFF), 90)[0] == pytest.approx(3000.0)


def test_targets_are_per_account():
    # an account's labels do not depend on which other accounts are in the table (partitioned engines)
    tx = frame(
        a=STEADY + [JAN] + after(1800.0),
        b=[(d, x * 40) for d, x in STEADY] + [("2025-01-20", 40_000)],
    )
    both = labels(tx)
    alone = labels(tx[tx["account_id"] == "a"])
    pd.testing.assert_series_equal(both.loc[["a"]].iloc[0], alone.loc[["a"]].iloc[0])
    columns = targets_at(Events.from_frame(tx, pd.Index(["a", "b"])), day_of(CUTOFF), Config().time)
    assert list(columns["expansion"]) == [1.0, 0.0]


def test_old_fixed_amount_key_names_its_replacement(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("time:\n  expansion_min_amount: 500\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match="expansion_min_amount.*replaced by time.expansion_min_extra_orders"
    ):
        load_config(path)


def test_an_account_that_stepped_up_half_a_year_ago_is_not_expanding_again():
    # 1,000 a month, then 2,000 a month from July 2024 on: the step is behind the cutoff
    stepped = [(d, 2000.0 if d >= pd.Timestamp("2024-07-01") else x) for d, x in STEADY + [JAN]]
    tx = frame(a=stepped + after(2000.0))
    row = labels(tx).loc["a"]
    assert row["baseline_spend"] == pytest.approx(18000 * 90 / 365)  # it lags the new level
    assert row["uplift"] == pytest.approx(0.0)  # the recent run rate, 6,000 a horizon, is the bar
    assert row["expansion"] == 0.0
    # the horizon that holds the step is the expansion (the July order pays for Jun 16 .. Jul 15)
    assert labels(tx, cutoff=pd.Timestamp("2024-06-01")).loc["a", "expansion"] == 1.0
    assert labels(tx, cutoff=pd.Timestamp("2024-08-01")).loc["a", "expansion"] == 0.0


def test_a_step_late_in_the_horizon_counts_when_the_data_after_it_shows_it_holds():
    # the step comes with the March 15 order: the horizon's own spend is barely up, the level after it is
    tx = frame(a=STEADY + [JAN, ("2025-02-15", 1000)] + after(1800.0, "2025-03-01"))
    row = labels(tx).loc["a"]
    assert row["horizon_spend"] == 1000 + 1000 + 1800
    assert row["expansion"] == 1.0
    # with the data ending before the order that shows it, it is not counted
    cut = tx[tx["date"] < pd.Timestamp("2025-03-10")]
    ids = pd.unique(cut["account_id"])
    ds = Dataset(pd.DataFrame({"account_id": ids}), cut, None, None)
    early = labels_at(prepare(ds, pd.Timestamp("2025-04-01"), Config().features), CUTOFF, Config())
    assert early.loc["a", "expansion"] == 0.0


def test_labels_read_the_data_up_to_the_given_end_only():
    tx = frame(a=STEADY + [JAN] + after(1800.0))
    ids = pd.unique(tx["account_id"])
    ds = Dataset(pd.DataFrame({"account_id": ids}), tx, None, None)
    prepared = prepare(ds, AS_OF, Config().features)
    # the whole data (end June 1) shows the step; an end on Feb 10 has no order after the step to show it
    assert labels_at(prepared, CUTOFF, Config()).loc["a", "expansion"] == 1.0
    short = labels_at(prepared, CUTOFF, Config(), end=pd.Timestamp("2025-02-10"))
    assert short.loc["a", "expansion"] == 0.0


def test_nothing_against_a_zero_baseline_is_not_expansion():
    # every order refunded: the baseline is 0 and so is the horizon; even with no minimum extra, no expansion
    tx = frame(a=[("2024-01-10", 200), ("2024-01-12", -200), ("2024-10-01", 500), ("2024-10-05", -500)])
    lenient = Config().with_overrides({"time.expansion_min_extra_orders": 0.0})
    row = labels(tx, lenient).loc["a"]
    assert row["baseline_spend"] == 0.0 and row["horizon_spend"] == 0.0
    assert row["churn"] == 1.0 and row["expansion"] == 0.0


def test_buying_more_often_is_expansion_and_a_fading_burst_is_not():
    # 1,000 a month, then twice a month from February: same order size, twice the rate
    twice = [(d, 1000.0) for m in ("02", "03", "04", "05") for d in (f"2025-{m}-01", f"2025-{m}-15")]
    assert labels(frame(a=STEADY + [JAN] + twice)).loc["a", "expansion"] == 1.0
    # 2,500 on Feb 15 and Mar 15, then back to 1,000: the growth did not hold
    burst = [("2025-02-15", 2500), ("2025-03-15", 2500)] + after(1000.0, "2025-04-01")
    assert labels(frame(a=STEADY + [JAN] + burst)).loc["a", "expansion"] == 0.0


def test_buying_curve_spreads_each_order_over_the_days_since_the_previous_one():
    tx = frame(a=[("2025-01-01", 100), ("2025-01-11", 100), ("2025-01-31", 200)], b=[("2025-01-05", 50)])
    curve = BuyingCurve.build(Events.from_frame(tx, pd.Index(["a", "b"])), day_of(AS_OF))
    start = day_of(pd.Timestamp("2025-01-01"))
    at = {d: curve.at(start + d) for d in (0, 1, 6, 11, 21, 40)}
    assert list(at[0]) == [0.0, 0.0] and list(at[1]) == [100.0, 0.0]  # the first order fills its own day
    assert at[6][0] == pytest.approx(150.0)  # the Jan 11 order pays for Jan 2 .. Jan 11
    assert at[21][0] == pytest.approx(300.0)  # the Jan 31 order pays for Jan 12 .. Jan 31 (10 of 20 days)
    assert list(at[40]) == [400.0, 50.0]
    assert curve.level(start + 11, start + 31)[0] == pytest.approx(10.0)  # 200 over 20 days
    # nothing on or after `end` is on the curve
    cut = BuyingCurve.build(Events.from_frame(tx, pd.Index(["a", "b"])), start + 30)
    assert cut.at(start + 40)[0] == pytest.approx(200.0)


def test_a_trial_order_days_before_a_regular_one_is_paid_for_with_it(monkeypatch):
    # 2,000 every two months to October 2024, then one 12,000 order on 2025-04-15 paying for the six months
    # since; a trial order of 80 two days before it must not leave the big order a two-day burst
    bimonthly = [
        (m + pd.Timedelta(days=14), 2000.0) for m in pd.date_range("2023-06-01", "2024-10-01", freq="2MS")
    ]
    plain = frame(a=bimonthly + [("2025-04-15", 12000.0)])
    trial = frame(a=bimonthly + [("2025-04-13", 80.0), ("2025-04-15", 12000.0)])
    ratio, before, after_level, late = step_at(trial, "2025-02-15")
    assert ratio == pytest.approx(step_at(plain, "2025-02-15")[0], rel=0.01) == pytest.approx(1.0)
    assert after_level == pytest.approx((12000 + 80) / 182, rel=0.01)  # spread over Oct 15 .. Apr 15
    # kept apart, the trial's knot leaves the 12,000 on two days: a level 3.4x the year's, 6.9x late
    monkeypatch.setattr("potential.labels.targets.JOIN_GAP", 0.0)
    ratio, _, _, late = step_at(trial, "2025-02-15")
    assert ratio > 3 and late > 6


def test_buying_curve_joins_order_days_closer_than_half_the_accounts_mean_gap():
    # orders every 30 days; a split delivery on Mar 3 (2 days after Mar 1): mean gap 90 / 4 = 22.5 days
    tx = frame(
        a=[
            ("2025-01-01", 100),
            ("2025-01-31", 100),
            ("2025-03-01", 60),
            ("2025-03-03", 40),
            ("2025-04-01", 100),
        ]
    )
    curve = BuyingCurve.build(Events.from_frame(tx, pd.Index(["a"])), day_of(AS_OF))
    start = day_of(pd.Timestamp("2025-01-31")) + 1  # the end of the Jan 31 order-day
    # the two March order-days pay together for Feb 1 .. Mar 3 (31 days): 100 / 31 a day throughout
    assert curve.level(start, start + 10)[0] == pytest.approx(100 / 31)
    assert curve.level(start + 28, start + 31)[0] == pytest.approx(100 / 31)
