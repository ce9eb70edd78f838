"""`potential backtest` on a generated book: trained on the past only, scored on what happened next."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio
from tests.cli_helpers import run_cli, tree_digest


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bt") / "data"
    write_portfolio(generate_portfolio(500, months=30, seed=3), folder)
    return folder


def test_backtest_over_two_dates_against_the_data_and_the_truth(data, tmp_path, capsys):
    ws = tmp_path / "ws"
    before = tree_digest(data)
    t1 = (DEFAULT_END - pd.DateOffset(months=6)).date()
    t2 = (DEFAULT_END - pd.DateOffset(months=3)).date()
    code, out, err = run_cli(
        ["backtest", "--data", data, "--as-of", t1, "--as-of", t2, "--out", ws, "--top", "50"], capsys
    )
    assert code == 0, err
    assert tree_digest(data) == before
    assert not (ws / "models").exists()  # a backtest never touches a registry
    payload = json.loads((ws / "exports" / "backtest.json").read_text())
    assert payload["as_of"] == [str(t1), str(t2)]
    rows = pd.DataFrame(payload["rows"])
    assert set(rows["outcome"]) == {"churn", "expansion", "true churn", "true expansion"}
    assert {"potential", "potential list", "rfm_rule", "logistic", "bgnbd"} <= set(rows["method"])
    for column in ("caught_tier_a", "money_caught_tier_a", "caught_top_k"):
        assert rows[column].dropna().between(0, 1).all()
    churn = rows[(rows["outcome"] == "churn") & (rows["method"] == "potential")]
    assert len(churn) == 2 and (churn["roc_auc"] > 0.75).all()
    # how often the list's Save was right: far above the churn rate over all accounts
    saved = rows[(rows["outcome"] == "true churn") & (rows["method"] == "potential list")]
    assert (saved["flagged"] > 0).all()
    assert (saved["flagged_hit_rate"] > 2 * saved["positives"] / saved["accounts"]).all()
    assert rows.loc[rows["method"] != "potential list", "flagged_hit_rate"].isna().all()
    # accounts the generator churned before the as-of (still active in the lookback) have no churn left to
    # predict: the true-churn rows leave them out, the true-expansion rows keep them
    events = pd.read_csv(data / "truth_events.csv", parse_dates=["date"])
    tx = pd.read_csv(data / "transactions.csv", parse_dates=["date"])
    at = pd.Timestamp(t2)
    active = set(
        tx.loc[
            (tx["date"] < at) & (tx["date"] >= at - pd.Timedelta(days=180)) & (tx["amount"] > 0), "account_id"
        ]
    )
    gone = set(events.loc[(events["kind"] == "churn") & (events["date"] < at), "account_id"]) & active
    ours = rows[(rows["method"] == "potential") & (rows["as_of"] == str(t2))].set_index("outcome")
    assert len(gone) > 0
    assert ours.loc["true churn", "accounts"] == ours.loc["true expansion", "accounts"] - len(gone)
    assert re.search(
        rf"{t2} true churn: of the \d+ accounts marked Save, \d+% churned \(\d+% of all accounts\)", out
    )
    page = (ws / "reports" / "backtest.html").read_text(encoding="utf-8")
    assert "How the list did against what happened next" in page and str(t2) in page
    assert "potential vs the best baseline" in page.lower()
    assert "right when marked Save" in page and "right when marked Grow" in page


def test_an_as_of_whose_outcomes_are_not_in_the_data_is_refused(data, tmp_path, capsys):
    late = (DEFAULT_END - pd.DateOffset(days=30)).date()
    code, _, err = run_cli(["backtest", "--data", data, "--as-of", late, "--out", tmp_path / "ws"], capsys)
    assert code == 2
    assert "not all in the data" in err and "--horizon-days" in err
    assert not (tmp_path / "ws").exists()
