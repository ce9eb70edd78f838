"""Honest holdout: train with the as-of 90 days before the end of a 36-month book, score at that date, and
compare with what actually happened in the next 90 days — against naive recency / recent-spend ordering."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from potential.config import Config
from potential.features.build import build_features, prepare
from potential.labels.training_set import labels_at
from potential.scoring.accounts import score
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio
from potential.tracking.store import Tracker
from tests import stages as pipeline


@pytest.fixture(scope="module")
def holdout(tmp_path_factory):
    root = tmp_path_factory.mktemp("holdout")
    portfolio = generate_portfolio(1500, 36, seed=11)
    write_portfolio(portfolio, root / "data")
    config = Config()
    as_of = DEFAULT_END - pd.Timedelta(days=90)
    history = portfolio.transactions[portfolio.transactions["date"] < as_of]
    activities = portfolio.activities[portfolio.activities["date"] < as_of]
    past = root / "past"
    past.mkdir()
    portfolio.accounts.to_csv(past / "accounts.csv", index=False)
    history.to_csv(past / "transactions.csv", index=False)
    activities.to_csv(past / "activities.csv", index=False)
    pipeline.train(past, as_of, root, config)
    dataset = pipeline.load(past, config)
    features = build_features(dataset, as_of, config.features)
    scored, _, _ = score(dataset, features, as_of, Tracker(root, config).champions(), config)
    full = pipeline.load(root / "data", config)
    outcome = labels_at(prepare(full, DEFAULT_END, config.features), as_of, config)
    frame = outcome.join(scored.drop(columns=["days_since_last_purchase"]), how="inner").join(
        features[["days_since_last_purchase", "spend_90d"]]
    )
    return frame


def test_churn_probability_beats_recency(holdout):
    frame = holdout.dropna(subset=["churn_probability"])
    model = roc_auc_score(frame["churn"], frame["churn_probability"])
    naive = roc_auc_score(frame["churn"], frame["days_since_last_purchase"].fillna(10_000))
    assert model > naive, (model, naive)


def test_expansion_probability_beats_recent_spend(holdout):
    # accounts younger than one horizon at the as-of have no expansion label (no baseline to grow against)
    frame = holdout.dropna(subset=["expansion_probability", "expansion"])
    model = roc_auc_score(frame["expansion"], frame["expansion_probability"])
    naive = max(
        roc_auc_score(frame["expansion"], frame["spend_90d"]),
        roc_auc_score(frame["expansion"], -frame["spend_90d"]),
    )
    assert model > naive, (model, naive)
