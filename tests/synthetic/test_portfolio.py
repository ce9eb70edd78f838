"""The demo world: seeded, truth consistent with the events, expansions led by noisy signals, no easy tell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.metrics import roc_auc_score

from potential.config import Config
from potential.data.schema import load_dataset
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio

SENIOR_ROLES = ("finance", "procurement", "executive")
MONTH = pd.DateOffset(months=1)


@pytest.fixture(scope="module")
def book():
    return generate_portfolio(2000, 36, seed=3)


def first_expansions(book) -> pd.Series:
    events = book.events[book.events["kind"] == "expansion"]
    return events.groupby("account_id")["date"].min()


def observed_signals(book, ends: pd.Series, months: int = 6) -> pd.DataFrame:
    """Per account (the index of `ends`): what the tables show in [end - months, end)."""
    starts = ends - pd.DateOffset(months=months)

    def within(frame: pd.DataFrame, column: str = "date") -> pd.DataFrame:
        account = frame["account_id"]
        inside = (frame[column] >= account.map(starts)) & (frame[column] < account.map(ends))
        return frame[inside.fillna(False).astype(bool)]

    act = book.activities
    contacts = act.groupby("contact_id").agg(
        account_id=("account_id", "first"),
        date=("date", "min"),
        role=("contact_role", "first"),
        seniority=("seniority", "first"),
    )
    senior = contacts["role"].isin(SENIOR_ROLES) | contacts["seniority"].isin(("director", "executive"))
    bought = book.transactions[book.transactions["amount"] > 0]
    first_buy = bought.groupby(["account_id", "product"])["date"].min().reset_index()
    account_start = bought.groupby("account_id")["date"].min()
    first_buy = first_buy[
        first_buy["date"] > first_buy["account_id"].map(account_start) + pd.Timedelta(days=60)
    ]
    out = pd.DataFrame(index=ends.index)
    out["new_senior_contact"] = out.index.isin(within(contacts[senior])["account_id"])
    out["exec_meeting"] = out.index.isin(within(act[act["kind"] == "exec_meeting"])["account_id"])
    out["trial_order"] = out.index.isin(within(first_buy)["account_id"])
    return out


def matched_controls(book, ends: pd.Series, seed: int = 0) -> pd.Series:
    """Accounts that never expand nor churn, each with a window end drawn from `ends`."""
    truth = book.truth.set_index("account_id")
    calm = truth.index[(truth["expansions"] == 0) & truth["churn_date"].isna() & ~truth["is_prospect"]]
    rng = np.random.default_rng(seed)
    return pd.Series(rng.choice(ends.to_numpy(), len(calm)), index=calm)


def test_same_seed_same_frames_and_another_seed_differs():
    one, two = generate_portfolio(300, 24, seed=5), generate_portfolio(300, 24, seed=5)
    for name in ("accounts", "transactions", "activities", "truth", "events"):
        assert_frame_equal(getattr(one, name), getattr(two, name))
    other = generate_portfolio(300, 24, seed=6)
    assert not one.transactions["amount"].equals(other.transactions["amount"])


def test_public_columns(book):
    assert list(book.transactions.columns) == ["account_id", "date", "amount", "product", "quantity", "kind"]
    assert list(book.activities.columns) == [
        "account_id",
        "date",
        "kind",
        "contact_id",
        "contact_role",
        "seniority",
    ]
    assert {"churn_propensity", "expansion_propensity", "churn_date", "expansion_date"} <= set(book.truth)
    assert list(book.events.columns[:4]) == ["account_id", "date", "kind", "magnitude"]
    assert set(book.events["kind"]) == {"expansion", "churn"}
    assert book.transactions["date"].max() < DEFAULT_END
    assert book.activities["date"].is_monotonic_increasing


def test_truth_one_row_per_account_and_first_expansion_matches_events(book):
    truth = book.truth.set_index("account_id", verify_integrity=True)
    assert truth.index.equals(pd.Index(book.accounts["account_id"]))
    first = first_expansions(book).reindex(truth.index)
    assert (truth["expansion_date"].isna() == first.isna()).all()
    assert (truth["expansion_date"].dropna() == first.dropna()).all()
    churn = book.events[book.events["kind"] == "churn"].set_index("account_id")["date"].reindex(truth.index)
    assert (truth["churn_date"].fillna(pd.Timestamp(0)) == churn.fillna(pd.Timestamp(0))).all()
    expansions = book.events[book.events["kind"] == "expansion"]
    assert (expansions["magnitude"] > 1.3).all() and (expansions["date"].dt.day == 1).all()
    counts = expansions["account_id"].value_counts().reindex(truth.index, fill_value=0)
    assert (counts == truth["expansions"]).all()
    assert 0 < (truth["expansions"] > 1).sum() < 0.25 * (truth["expansions"] > 0).sum()  # repeats are rare


def test_signals_lead_expansions(book):
    first = first_expansions(book)
    first = first[first >= book.transactions["date"].min() + pd.DateOffset(months=8)]
    expanders = observed_signals(book, first)
    controls = observed_signals(book, matched_controls(book, first))
    any_e, any_c = expanders.any(axis=1).mean(), controls.any(axis=1).mean()
    assert len(first) > 300 and len(controls) > 300
    assert any_e > 0.75 and any_c < 0.55 and any_e - any_c > 0.3, (any_e, any_c)
    for column in ("new_senior_contact", "trial_order"):
        assert expanders[column].mean() > 2.5 * controls[column].mean(), column


def test_some_expansions_are_silent_and_some_signals_lead_nowhere(book):
    expansions = book.events[book.events["kind"] == "expansion"]
    silent = (expansions["signals"] == "") & (expansions["lead_months"] == 0)
    assert 0.1 < silent.mean() < 0.35
    first = first_expansions(book)
    first = first[first >= book.transactions["date"].min() + pd.DateOffset(months=8)]
    assert (~observed_signals(book, first).any(axis=1)).sum() > 10  # nothing in the data announced them
    truth = book.truth
    false_starts = truth["false_starts"].sum()
    announced = (expansions["signals"] != "").sum()
    assert 0.15 < false_starts / (false_starts + announced) < 0.5
    # false starts leave the same traces: never-expanding accounts with a new senior contact and a trial
    ends = pd.Series(DEFAULT_END, index=truth.loc[truth["expansions"] == 0, "account_id"])
    both = observed_signals(book, ends, months=36)[["new_senior_contact", "trial_order"]].all(axis=1)
    assert both.sum() > 20


def test_expansions_are_sustained(book):
    events = book.events[book.events["kind"] == "expansion"]
    start, end = book.transactions["date"].min(), DEFAULT_END
    churn = book.truth.set_index("account_id")["churn_date"]
    inside = (events["date"] >= start + 6 * MONTH) & (events["date"] <= end - 6 * MONTH)
    stays = ~(events["account_id"].map(churn) < events["date"] + 12 * MONTH)
    events = events[inside & stays]
    tx = book.transactions.merge(
        events[["account_id", "date"]].rename(columns={"date": "step"}), on="account_id"
    )
    before = (tx["date"] >= tx["step"] - 6 * MONTH) & (tx["date"] < tx["step"])
    after = (tx["date"] >= tx["step"]) & (tx["date"] < tx["step"] + 6 * MONTH)
    key = [tx["account_id"], tx["step"]]
    spend_before = tx["amount"].where(before, 0.0).groupby(key).sum()
    spend_after = tx["amount"].where(after, 0.0).groupby(key).sum()
    assert len(spend_before) > 200
    assert (spend_after > 1.15 * spend_before).mean() > 0.85


def test_no_single_profile_column_separates_expanders(book):
    accounts = book.accounts.set_index("account_id")
    truth = book.truth.set_index("account_id")
    keep = ~truth["is_prospect"]
    y = (truth.loc[keep, "expansions"] > 0).to_numpy()
    best = {}
    for column in accounts.columns.drop(["account_name", "created_date"]):
        values = accounts.loc[keep, column]
        if pd.api.types.is_numeric_dtype(values):
            score = values.astype(float).fillna(values.astype(float).median()).to_numpy()
        else:  # in-sample rate of expanders per level: the most any single category column can do
            level = values.astype(object).fillna("missing")
            score = pd.Series(y, index=level.index).groupby(level).transform("mean").to_numpy()
        auc = roc_auc_score(y, score)
        best[column] = max(auc, 1 - auc)
    assert max(best.values()) < 0.8, best


def test_seasonality_fools_quarter_on_quarter_but_not_year_on_year(book):
    truth = book.truth.set_index("account_id")
    created = book.accounts.set_index("account_id")["created_date"]
    calm = truth.index[
        (truth["expansions"] == 0)
        & truth["churn_date"].isna()
        & ~truth["is_prospect"]
        & (created < book.transactions["date"].min())
    ]
    tx = book.transactions[book.transactions["account_id"].isin(calm)]

    def spend(first: str, last: str) -> pd.Series:
        inside = tx[(tx["date"] >= first) & (tx["date"] < last)]
        return inside.groupby("account_id")["amount"].sum().reindex(calm, fill_value=0.0)

    q3, q4, q4_before = (
        spend("2025-07-01", "2025-10-01"),
        spend("2025-10-01", "2026-01-01"),
        spend("2024-10-01", "2025-01-01"),
    )
    assert len(calm) > 150
    assert q4.sum() / q3.sum() > 1.2  # the book as a whole "grows" 20%+ from Q3 to Q4
    naive = (q4 >= 1.2 * q3).mean()  # a quarter-on-quarter label calls these non-expanding accounts expanding
    assert naive > 0.55
    # year on year, the same season is comparable (the median account: a few large ones sway the sum)
    assert 0.9 < (q4 / q4_before.where(q4_before > 0)).median() < 1.1
    assert (q4 >= 1.2 * q4_before).mean() < naive - 0.25  # what is left is lumpy orders and quiet spells


def test_expansions_follow_the_budget_year(book):
    events = book.events[book.events["kind"] == "expansion"]
    fiscal = events["account_id"].map(book.truth.set_index("account_id")["fiscal_year_start"])
    months_in = (events["date"].dt.month - fiscal) % 12
    assert (months_in < 3).mean() > 0.4  # 0.25 without budget seasons


def test_write_portfolio_writes_truth_events_the_loader_ignores(tmp_path):
    portfolio = generate_portfolio(60, 12, seed=1)
    paths = write_portfolio(portfolio, tmp_path)
    assert {p.name for p in paths} == {
        "accounts.csv",
        "transactions.csv",
        "activities.csv",
        "truth.csv",
        "truth_events.csv",
    }
    events = pd.read_csv(tmp_path / "truth_events.csv", parse_dates=["date"])
    assert len(events) == len(portfolio.events)
    dataset = load_dataset(tmp_path, Config().data)
    assert len(dataset.transactions) == len(portfolio.transactions)
    assert not any("truth" in note for note in dataset.notes)
