"""The Python API from a notebook: DataFrames in, a ranked list, explanations and the registered model out.

    .venv/bin/python examples/notebook_api.py [WORKSPACE]

Runs in well under a minute on the small synthetic portfolio below; each step is one cell of a notebook.
docs/python-api.md walks through the same steps.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

import potential
from potential.synthetic.portfolio import generate_portfolio


def main(workspace: Path) -> dict[str, object]:
    # 1. data: any DataFrames with the columns of docs/design.md section 1 (here a seeded synthetic portfolio)
    world = generate_portfolio(300, 24, seed=7)
    data = {"transactions": world.transactions, "accounts": world.accounts, "activities": world.activities}
    as_of = pd.Timestamp(world.transactions["date"].max()).normalize() + pd.Timedelta(days=1)

    # 2. config: the defaults, with what a small portfolio needs (fewer positives to learn from)
    config = potential.load_config(
        overrides={"training.min_positives": 10, "training.lightgbm.n_estimators": 150}
    )

    # 3. validate once: the same rules as a data folder (a bad column stops here, naming the fix)
    dataset = potential.load_dataset(data, config)
    print(f"{len(dataset.accounts)} accounts, {len(dataset.transactions):,} transactions")

    # 4. features as `potential features` writes them (the registered models' input)
    features = potential.build_features(data, as_of, config)
    print(f"features: {features.shape[0]} accounts x {features.shape[1] - 1} columns")

    # 5. train, log and register (MLflow store in <workspace>/models)
    summary = potential.train(data, as_of, workspace, config)
    for target, result in summary.results.items():
        print(f"{target}: ROC-AUC {result.metrics['roc_auc']:.3f} on the test slice")

    # 6. rank: the target list as a DataFrame (and exports/targets.csv)
    ranked = potential.rank(data, as_of, workspace, config)
    print(ranked.targets[["rank", "account_id", "tier", "action", "churn_probability"]].head())

    # 7. why: per-feature contributions; base + sum(contribution) = the probability
    why = potential.explain(data, as_of, workspace, config)
    top = why[why["target"] == "churn"].sort_values("contribution", ascending=False).head(3)
    print(top[["account_id", "feature", "contribution"]])

    # 8. the registered champion, outside potential: plain MLflow on the features table
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{Path(workspace).resolve() / 'models' / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/potential-churn@champion")
    scores = model.predict(features)
    print(potential.model_versions(workspace, config)[["target", "version", "aliases", "roc_auc"]])
    return {"features": features, "ranked": ranked, "explanations": why, "mlflow_scores": scores}


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
