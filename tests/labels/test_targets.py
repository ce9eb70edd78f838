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
from potential.labels.targets import Events, baseline_at, baseline_spend, targets_at
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


# the account of the module docstring: 1,000 a month since 2023-06-15
STEADY = monthly("2023-06-01", "2024-12-01", 1000.0)


def test_worked_example_sustained_step_up_is_expansion():
    tx = frame(a=STEADY + [("2025-01-15", 1300), ("2025-02-15", 1300), ("2025-03-15", 1400)])
    row = labels(tx).loc["a"]
    assert row["baseline_spend"] == pytest.approx(
        3000.0
    )  # max(12,000 x 90/365 = 2,958.90, last year's 3,000)
    assert row["horizon_spend"] == 4000.0
    assert row["previous_spend"] == 3000.0  # Oct + Nov + Dec
    assert row["uplift"] == pytest.approx(1000.0)
    assert row["expansion"] == 1.0 and row["churn"] == 0.0


def test_dip_and_return_is_not_expansion():
    # nothing in Oct-Dec 2024, a 3,000 catch-up on Jan 15, then back to 1,000 a month
    dip = [(d, x) for d, x in STEADY if d < pd.Timestamp("2024-10-01")]
    tx = frame(a=dip + [("2025-01-15", 3000), ("2025-02-15", 1000), ("2025-03-15", 1000)])
    row = labels(tx).loc["a"]
    assert row["previous_spend"] == 0.0  # the old rule compared 5,000 with this and said "expansion"
    assert row["baseline_spend"] == pytest.approx(3000.0)  # max(9,000 x 90/365 = 2,219.18, last year's 3,000)
    assert row["horizon_spend"] == 5000.0
    assert row["uplift"] == pytest.approx(2000.0)
    assert row["expansion"] == 0.0  # the catch-up counts as 1,000: sustained 3,000 < 1.2 x 3,000
    assert row["churn"] == 0.0


def test_seasonal_peak_that_repeats_last_year_is_not_expansion():
    # two years: 2,000 a month in Jan-Mar, 1,000 otherwise, in 2023 and 2024; the same again in 2025
    history = monthly("2023-01-01", "2024-12-01", 1000.0)
    history = [(d, 2000.0 if d.month <= 3 else x) for d, x in history]
    peak = [("2025-01-15", 2000), ("2025-02-15", 2000), ("2025-03-15", 2000)]
    row = labels(frame(a=history + peak)).loc["a"]
    # run rate 15,000 x 90/365 = 3,698.63; last year's Jan-Mar = 6,000 is the baseline
    assert row["baseline_spend"] == pytest.approx(6000.0)
    assert row["horizon_spend"] == 6000.0
    assert row["uplift"] == pytest.approx(0.0)
    assert row["expansion"] == 0.0
    # a peak 30% above last year's is growth: sustained 7,800 >= 7,200, extra 1,800 >= 0.5 x 1,250
    grown = [("2025-01-15", 2600), ("2025-02-15", 2600), ("2025-03-15", 2600)]
    assert labels(frame(a=history + grown)).loc["a", "expansion"] == 1.0


def test_one_big_order_alone_is_not_expansion():
    # 1,000 a month, then one 5,000 order among two normal ones: horizon 7,000 vs baseline 3,000
    tx = frame(a=STEADY + [("2025-01-15", 1000), ("2025-02-15", 5000), ("2025-03-15", 1000)])
    row = labels(tx).loc["a"]
    assert row["horizon_spend"] == 7000.0
    assert row["uplift"] == pytest.approx(4000.0)
    assert row["expansion"] == 0.0  # 5,000 counts as max(1,000, 1,000): sustained 3,000


def test_catch_up_order_is_not_expansion_even_after_one_last_year():
    # 1,000 a month; May 2024 skipped and caught up in June (2,000), December skipped and caught up in January
    past = [(d, 2000.0 if d.month == 6 and d.year == 2024 else x) for d, x in STEADY]
    past = [(d, x) for d, x in past if not (d.year == 2024 and d.month in (5, 12))]
    tx = frame(a=past + [("2025-01-15", 2000), ("2025-02-15", 1000), ("2025-03-15", 1000)])
    row = labels(tx).loc["a"]
    assert row["baseline_spend"] == pytest.approx(
        3000.0
    )  # max(11,000 x 90/365 = 2,712.33, last year's 3,000)
    assert (
        row["horizon_spend"] == 4000.0
    )  # >= 1.2 x 3,000: the old cap (past year's largest order) let it pass
    # the past year's single largest order (the June catch-up) is set aside too: the cap is 1,000
    assert row["expansion"] == 0.0


def test_growth_worth_less_than_half_an_order_is_not_expansion():
    # 2,000 every other month; then 1,800 in February and March: 3,600 >= 1.2 x 2,958.90 = 3,550.68
    bimonthly = [(d, x) for d, x in monthly("2023-02-01", "2024-12-01", 2000.0) if d.month % 2 == 0]
    tx = frame(a=bimonthly + [("2025-02-15", 1800), ("2025-03-15", 1800)])
    row = labels(tx).loc["a"]
    assert row["baseline_spend"] == pytest.approx(
        12000 * 90 / 365
    )  # last year's window had one order (2,000)
    # growth bar: the recent run rate, Aug + Oct + Dec = 6,000 x 90 / 180 = 3,000 (> the baseline 2,958.90)
    assert row["uplift"] == pytest.approx(3600 - 3000)  # 600 < 0.5 x 2,000

    assert row["expansion"] == 0.0
    lenient = Config().with_overrides({"time.expansion_min_extra_orders": 0.0})
    assert labels(tx, lenient).loc["a", "expansion"] == 1.0


def test_same_history_in_a_currency_1000x_smaller_gets_the_same_labels():
    orders = {
        "step_up": STEADY + [("2025-01-15", 1300), ("2025-02-15", 1300), ("2025-03-15", 1400)],
        "flat": STEADY + [("2025-01-15", 1000), ("2025-02-15", 1100), ("2025-03-15", 1000)],
        "gone": STEADY,
    }
    big = labels(frame(**orders))
    small = labels(frame(**{a: [(d, x / 1000) for d, x in o] for a, o in orders.items()}))
    assert big["expansion"].to_dict() == {"step_up": 1.0, "flat": 0.0, "gone": 0.0}
    assert big["churn"].to_dict() == {"step_up": 0.0, "flat": 0.0, "gone": 1.0}
    pd.testing.assert_frame_equal(small[["churn", "expansion"]], big[["churn", "expansion"]])
    np.testing.assert_allclose(small["baseline_spend"] * 1000, big["baseline_spend"])


def test_new_account_second_order_is_not_expansion():
    # first order on 2024-12-10, a 1,500 second order in the horizon
    row = labels(frame(a=[("2024-12-10", 1000), ("2025-01-20", 1500)])).loc["a"]
    assert row["baseline_spend"] == pytest.approx(1000.0)  # 22 days of history count as one horizon
    assert row["horizon_spend"] == 1500.0
    assert row["expansion"] == 0.0 and row["churn"] == 0.0
    # nor is a new monthly buyer keeping its pace (3,000 in the horizon against a 1,000 "baseline")
    monthly_new = [("2024-12-10", 1000)] + monthly("2025-01-01", "2025-03-01", 1000.0, day=10)
    assert labels(frame(a=monthly_new)).loc["a", "expansion"] == 0.0


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
        a=STEADY + [("2025-01-15", 1300), ("2025-02-15", 1300), ("2025-03-15", 1400)],
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
    stepped = [(d, 2000.0 if d >= pd.Timestamp("2024-07-01") else x) for d, x in STEADY]
    tx = frame(a=stepped + [("2025-01-15", 2000), ("2025-02-15", 2000), ("2025-03-15", 2000)])
    row = labels(tx).loc["a"]
    # baseline: (6 x 1,000 + 6 x 2,000) x 90 / 365 = 4,438.36 (last year's window: 3,000); it lags the new level
    assert row["baseline_spend"] == pytest.approx(18000 * 90 / 365)
    # growth bar: the recent run rate, 6 x 2,000 x 90 / 180 = 6,000; the horizon's 6,000 is no new growth
    assert row["uplift"] == pytest.approx(0.0)
    assert row["expansion"] == 0.0
    # the horizon that holds the step (cutoff 2024-07-01) is the expansion
    assert labels(frame(a=stepped), cutoff=pd.Timestamp("2024-07-01")).loc["a", "expansion"] == 1.0


def test_nothing_against_a_zero_baseline_is_not_expansion():
    # every order refunded: the baseline is 0 and so is the horizon; even with no minimum extra, no expansion
    tx = frame(a=[("2024-01-10", 200), ("2024-01-12", -200), ("2024-10-01", 500), ("2024-10-05", -500)])
    lenient = Config().with_overrides({"time.expansion_min_extra_orders": 0.0})
    row = labels(tx, lenient).loc["a"]
    assert row["baseline_spend"] == 0.0 and row["horizon_spend"] == 0.0
    assert row["churn"] == 1.0 and row["expansion"] == 0.0


def test_buying_more_often_is_expansion_and_a_fading_burst_is_not():
    # 1,000 a month, then twice a month from January: same order size, twice the rate
    often = STEADY + [(d, 1000.0) for m in ("2025-01", "2025-02", "2025-03") for d in (f"{m}-01", f"{m}-15")]
    assert labels(frame(a=often)).loc["a", "expansion"] == 1.0
    # 1,000 a month, then 2,500 on Jan 15 and Feb 15 and back to 1,000 in March: the growth did not hold
    burst = STEADY + [("2025-01-15", 2500), ("2025-02-15", 2500), ("2025-03-15", 1000)]
    row = labels(frame(a=burst)).loc["a"]
    assert row["horizon_spend"] == 6000.0 and row["expansion"] == 0.0  # 1,000 / 28 days x 90 < 3,600
