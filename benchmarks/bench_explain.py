"""Explanations at scale: probability-point contributions for N accounts vs LightGBM's raw pred_contrib.

Prints the time of the raw `Booster.predict(pred_contrib=True)` call, of `potential.scoring.explain.contributions`
(pred_contrib + the rescaling to calibrated probability points), of the long-format table and of the top drivers
(`explained_drivers`, the reasons' input), measured in the same process on the same matrix. Target: explanations
within 2x of raw pred_contrib.

    python benchmarks/bench_explain.py [--accounts 100000] [--trees 100]
"""

from __future__ import annotations

import argparse
import time

import lightgbm as lgb
import numpy as np
import pandas as pd

from potential.config import Config
from potential.data.schema import Dataset
from potential.features.build import build_features
from potential.models.training import Calibrator, FeatureSpec, TrainedModel
from potential.scoring.explain import contributions, explained_drivers, long_explanations
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio


def main(accounts: int = 100_000, trees: int = 100, seed: int = 1) -> list[dict[str, object]]:
    portfolio = generate_portfolio(accounts, 36, seed)
    dataset = Dataset(portfolio.accounts, portfolio.transactions, portfolio.activities, None)
    features = build_features(dataset, DEFAULT_END, Config().features)
    spec = FeatureSpec.from_frame(features)
    X = spec.encode(features)
    y = (
        portfolio.truth.set_index("account_id")["churn_propensity"].reindex(features.index).to_numpy()
        > np.random.default_rng(seed).uniform(size=len(X))
    ).astype(float)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 2, "seed": seed, "deterministic": True},
        lgb.Dataset(X, y, categorical_feature=list(spec.categories) or "auto"),
        trees,
    )
    raw = np.asarray(booster.predict(X[:200], raw_score=True))
    calibrator = Calibrator.fit("isotonic", 1 / (1 + np.exp(-raw)), y[:200])
    model = TrainedModel("churn", booster, spec, calibrator)

    started = time.perf_counter()
    booster.predict(X, pred_contrib=True)
    t_raw = time.perf_counter() - started
    started = time.perf_counter()
    points, prob, base = contributions(model, features)
    t_contrib = time.perf_counter() - started
    started = time.perf_counter()
    long = long_explanations("churn", points, features, base)
    t_long = time.perf_counter() - started
    started = time.perf_counter()
    drivers = explained_drivers([("churn", points)], long)
    t_drivers = time.perf_counter() - started
    assert np.allclose(points.sum(axis=1).to_numpy() + base, prob)
    rows = [
        {"step": "raw pred_contrib (reference)", "seconds": round(t_raw, 2), "ratio": 1.0},
        {
            "step": "contributions in probability points",
            "seconds": round(t_contrib, 2),
            "ratio": round(t_contrib / t_raw, 2),
        },
        {
            "step": "+ long table",
            "seconds": round(t_contrib + t_long, 2),
            "ratio": round((t_contrib + t_long) / t_raw, 2),
        },
        {
            "step": "+ top drivers",
            "seconds": round(t_contrib + t_long + t_drivers, 2),
            "ratio": round((t_contrib + t_long + t_drivers) / t_raw, 2),
        },
    ]
    print(
        f"explanations: {accounts:,} accounts x {features.shape[1]} features, {trees} trees, {len(long):,} long rows, {len(drivers):,} drivers"
    )
    print(pd.DataFrame(rows).to_string(index=False))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--trees", type=int, default=100)
    args = parser.parse_args()
    main(args.accounts, args.trees)
