"""The registered models are MLflow pyfuncs: the table `potential features` writes in, the scores `rank` writes out.

Also: test-slice evaluation artifacts in every model run, an inference run per `rank`, the version listing and
promotion of the challenger, and workspaces whose models were registered before the pyfunc (LightGBM flavour).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.config import Config
from potential.errors import PotentialError
from potential.tracking.store import REGISTERED, Tracker
from tests import stages as pipeline
from tests.cli_helpers import run_cli

AS_OF = pd.Timestamp("2025-02-01")


def cfg(**kw) -> Config:
    return Config().with_overrides({"training.min_positives": 5, "training.lightgbm.n_estimators": 60, **kw})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from tests.conftest import make_tables, write_tables

    root = tmp_path_factory.mktemp("ws")
    data = write_tables(root / "data", make_tables())
    summary = pipeline.train(data, AS_OF, root, cfg())
    ranked = pipeline.rank(data, AS_OF, root, cfg())
    return root, data, summary, ranked


@pytest.fixture(scope="module")
def features(workspace, tmp_path_factory):
    """The table `potential features --as-of <the rank's as-of>` writes, read back as a user would."""
    root, data, _, _ = workspace
    out = tmp_path_factory.mktemp("features") / "features.parquet"
    import sys

    from potential.app.cli import main

    argv = sys.argv
    sys.argv = ["potential", "features", "--data", str(data), "--as-of", str(AS_OF.date()), "--out", str(out)]
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    finally:
        sys.argv = argv
    return pd.read_parquet(out)


def load_pyfunc(root, uri: str):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'models' / 'mlflow.db'}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.pyfunc.load_model(uri)


def test_pyfunc_on_the_features_table_reproduces_the_target_list(workspace, features):
    root, _, _, _ = workspace
    assert isinstance(features["industry"].dtype, pd.CategoricalDtype)  # categories as potential writes them
    model = load_pyfunc(root, "models:/potential-churn@champion")
    out = model.predict(features)
    assert list(out.columns) == ["churn_probability"]
    got = pd.Series(out["churn_probability"].to_numpy(), index=features["account_id"].astype(str))

    # unrounded: base + sum(contribution) of explanations.parquet is the probability rank computed
    explanations = pd.read_parquet(root / "exports" / "explanations.parquet")
    churn = explanations[explanations["target"] == "churn"].groupby("account_id")
    expected = churn["base"].first() + churn["contribution"].sum()
    assert len(expected) > 50
    np.testing.assert_allclose(got.reindex(expected.index), expected, rtol=0, atol=1e-9)

    # and targets.csv (rounded to 6 decimals) agrees for every scored account
    targets = pd.read_csv(root / "exports" / "targets.csv", dtype={"account_id": str})
    listed = targets.set_index("account_id")["churn_probability"].dropna()
    assert len(listed) == len(expected)
    np.testing.assert_allclose(got.reindex(listed.index), listed, rtol=0, atol=1e-6)


def test_pyfunc_matches_trained_model_and_accepts_text_categories(workspace, features):
    root, _, _, _ = workspace
    champion = Tracker(root, cfg()).champion("expansion")
    model = load_pyfunc(root, "models:/potential-expansion@champion")
    as_text = features.copy()
    for column in as_text.columns:
        if isinstance(as_text[column].dtype, pd.CategoricalDtype):
            as_text[column] = as_text[column].astype(object)
    without_id = as_text.drop(columns="account_id")
    direct = champion.model.predict(features.drop(columns="account_id"))
    np.testing.assert_allclose(model.predict(as_text).iloc[:, 0], direct, atol=1e-12)
    np.testing.assert_allclose(model.predict(without_id).iloc[:, 0], direct, atol=1e-12)


def test_uplift_pyfunc_returns_money(workspace, features):
    root, _, _, _ = workspace
    model = load_pyfunc(root, "models:/potential-expansion-uplift@champion")
    out = model.predict(features)
    assert list(out.columns) == ["expected_uplift"]
    targets = pd.read_csv(root / "exports" / "targets.csv", dtype={"account_id": str})
    listed = targets.set_index("account_id")["expected_uplift"].dropna()
    got = pd.Series(out["expected_uplift"].to_numpy(), index=features["account_id"].astype(str))
    np.testing.assert_allclose(got.reindex(listed.index), listed, rtol=0, atol=0.006)  # rounded to cents
    assert (got > 1).mean() > 0.5  # money, not log1p(money)


def test_model_runs_hold_evaluation_booster_and_description(workspace):
    root, _, summary, _ = workspace
    tracker = Tracker(root, cfg())
    for target in ("churn", "expansion"):
        version = summary.decisions[target]["version"]
        mv = tracker.client.get_model_version(REGISTERED[target], version)
        assert "ROC-AUC" in mv.description and "trained as of 2025-02-01" in mv.description
        assert "LightGBM blended with a logistic regression (0.5 of the log-odds)" in mv.description
        files = {a.path for a in tracker.client.list_artifacts(mv.run_id, "evaluation")}
        for name in (
            "roc_curve.png",
            "pr_curve.png",
            "gain_lift.png",
            "confusion_matrix.png",
            "shap_beeswarm.png",
            "test_predictions.parquet",
        ):
            assert f"evaluation/{name}" in files
        booster = {a.path for a in tracker.client.list_artifacts(mv.run_id, "booster")}
        assert booster == {"booster/model.txt", "booster/potential.json"}
        metrics = tracker.client.get_run(mv.run_id).data.metrics
        assert 0 <= metrics["threshold_recall"] <= 1
        path = tracker.client.download_artifacts(mv.run_id, "evaluation/test_predictions.parquet")
        predictions = pd.read_parquet(path)
        assert len(predictions) == summary.results[target].params["n_test"]
        assert set(predictions["label"].unique()) <= {0.0, 1.0}
    parent = tracker.client.get_run(mv.run_id).data.tags["mlflow.parentRunId"]
    run = tracker.client.get_run(parent)
    assert {d.dataset.name for d in run.inputs.dataset_inputs} >= {"transactions", "accounts"}
    names = {a.path for a in tracker.client.list_artifacts(parent, "config")}
    assert {"config/config.yaml", "config/rating_profile.yaml"} <= names


def test_rank_logs_an_inference_run(workspace):
    root, _, _, ranked = workspace
    tracker = Tracker(root, cfg())
    runs = tracker.client.search_runs([tracker.experiment_id()], "tags.`potential.kind` = 'inference'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["as_of"] == "2025-02-01"
    assert run.data.params["churn_version"] == ranked.model_versions["churn"]
    assert run.data.metrics["accounts_ranked"] == len(ranked.targets)
    tiers = ranked.targets["tier"].value_counts()
    assert run.data.metrics["tier_A"] == tiers["A"]
    assert 0 <= run.data.metrics["churn_probability_p50"] <= 1
    assert {d.dataset.name for d in run.inputs.dataset_inputs} >= {"transactions"}
    path = tracker.client.download_artifacts(run.info.run_id, "manifest.json")
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2025-02-01"


def test_models_lists_versions_and_promote_defaults_to_the_challenger(workspace):
    root, _, summary, _ = workspace
    tracker = Tracker(root, cfg())
    # the same models logged again, against a champion they cannot beat: they become challengers
    context = {"as_of": "2025-02-01", "horizon_days": 90, "data_digest": "d", "config_digest": "c"}
    decisions = tracker.log_training(summary.results, context, lambda model, target: 1.0)
    assert not any(d["promoted"] for d in decisions.values())
    listed = tracker.models()
    churn = listed[listed["target"] == "churn"].set_index("version")
    assert churn.loc[1, "aliases"] == "champion" and churn.loc[2, "aliases"] == "challenger"
    assert churn["format"].eq("pyfunc").all() and churn["roc_auc"].notna().all()
    promoted = tracker.promote("expansion")
    assert promoted == [("expansion", "2"), ("uplift", "2")]
    assert tracker.champion("expansion").version == "2"
    assert tracker.champion("uplift").version == "2"
    with pytest.raises(PotentialError, match=r"no challenger.*v1, v2 \(champion\).*potential models"):
        tracker.promote("expansion")
    with pytest.raises(PotentialError, match="no version 9 .*potential models"):
        tracker.promote("churn", "9")
    board = tracker.leaderboard()
    published = board[(board["target"] == "expansion") & (board["model"] == "lightgbm+logistic")]
    assert set(published["version"]) >= {"v1", "v2"}


def test_models_registered_before_the_pyfunc_still_load(workspace, features):
    """A workspace from an earlier release: LightGBM flavour + metadata beside it, no pyfunc."""
    import contextlib
    import io

    import mlflow

    root, _, _, _ = workspace
    tracker = Tracker(root, cfg())
    current = tracker.champion("churn")
    model = current.model
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        with mlflow.start_run(experiment_id=tracker.experiment_id(), tags={"potential.kind": "model"}):
            info = mlflow.lightgbm.log_model(
                model.booster,
                name="model",
                metadata={"potential": model.metadata()},
                registered_model_name=REGISTERED["churn"],
                pip_requirements=["lightgbm"],
            )
    old = str(info.registered_model_version)
    tracker.promote("churn", old)
    legacy = Tracker(root, cfg()).champion("churn")
    assert legacy.version == old
    X = features.drop(columns="account_id")
    np.testing.assert_allclose(legacy.model.predict(X), model.predict(X), atol=1e-12)
    listed = tracker.models()
    row = listed[(listed["target"] == "churn") & (listed["version"] == int(old))].iloc[0]
    assert row["format"].startswith("lightgbm")
    tracker.promote("churn", current.version)


def test_promote_cli_errors_point_at_the_listing(workspace, capsys):
    root, _, _, _ = workspace
    code, _, err = run_cli(["promote", "churn", "99", "--out", root], capsys)
    assert code == 2
    assert "no version 99" in err and "potential models" in err
