import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import load_dataset
from potential.errors import InsufficientDataError
from potential.labels.training_set import build_training_set
from potential.models.training import (
    Calibrator,
    FeatureSpec,
    TrainedModel,
    classification_metrics,
    lgb_params,
    lift_at,
    train_target,
)

AS_OF = pd.Timestamp("2025-02-01")  # the fixture's accounts still buy in the horizons before it


@pytest.fixture
def training_set(data_dir):
    return build_training_set(load_dataset(data_dir, DataConfig()), AS_OF, Config())


def config(**kw):
    return Config().with_overrides({"training.min_positives": 5, **kw})


def test_train_churn_is_deterministic_and_calibrated(training_set):
    a = train_target(training_set, "churn", config())
    b = train_target(training_set, "churn", config())
    assert a.model.booster.model_to_string() == b.model.booster.model_to_string()
    assert np.array_equal(a.test_scores, b.test_scores)
    assert ((a.test_scores >= 0) & (a.test_scores <= 1)).all()
    assert {"logistic", "rfm_rule"} <= set(a.baselines)
    for key in ("roc_auc", "pr_auc", "log_loss", "brier", "lift_at_10", "lift_at_20", "precision_at_20"):
        assert np.isfinite(a.metrics[key])
    # test rows are the latest cutoffs only
    assert (
        a.test_index.get_level_values("cutoff").min()
        > training_set.features.index.get_level_values("cutoff")[
            training_set.slice.to_numpy() == "train"
        ].max()
    )


def test_published_model_is_refitted_on_every_labelled_cutoff(training_set):
    # the validation model (test scores, metrics) never sees the test slice's labels; the published one does
    flipped = training_set.labels.copy()
    test = (training_set.slice == "test") & flipped["churn"].notna()
    flipped.loc[test, "churn"] = 1.0 - flipped.loc[test, "churn"]
    other = type(training_set)(
        training_set.features, flipped, training_set.slice, training_set.cutoffs, "history"
    )
    a, b = train_target(training_set, "churn", config()), train_target(other, "churn", config())
    assert np.array_equal(a.test_scores, b.test_scores)
    rows = training_set.features[test]
    assert not np.allclose(a.model.predict(rows), b.model.predict(rows))
    assert a.params["n_refit"] == int(training_set.labels["churn"].notna().sum())
    assert a.model.booster.current_iteration() == int(a.metrics["best_iteration"])
    # probabilities are the booster's own, which log loss fits to the labelled rows' rate
    labelled = training_set.features[training_set.labels["churn"].notna()]
    rate = float(training_set.labels["churn"].mean())
    assert a.model.predict(labelled).mean() == pytest.approx(rate, abs=0.03)
    # training.refit: false publishes the validation model: it scores the test slice as the metrics say
    off = train_target(training_set, "churn", config(**{"training.refit": False}))
    assert off.params["n_refit"] == 0
    assert np.allclose(off.model.predict(rows), off.test_scores)


def test_the_validation_blend_is_built_as_the_published_one(training_set, monkeypatch):
    """The test slice measures the procedure that publishes: under training.refit the published regression
    learns every labelled row, so the validation one learns every row before the test slice (train and
    calibration), and both are calibrated by the prior shift; without refit the validation model is the
    published one, its regression learnt on the train slice and calibrated on the calibration slice."""
    from potential.models import training

    fitted: list[str] = []
    real = training.fit_linear
    monkeypatch.setattr(
        training, "fit_linear", lambda rows, through, cfg: fitted.append(through) or real(rows, through, cfg)
    )
    calibrators: list[str] = []
    monkeypatch.setattr(
        training.Calibrator,
        "fit",
        classmethod(lambda cls, method, raw, y: calibrators.append(method) or cls("identity")),
    )
    train_target(training_set, "churn", config())
    assert fitted == ["calibration", "test"] and calibrators == []
    fitted.clear()
    train_target(training_set, "churn", config(**{"training.refit": False}))
    assert fitted == ["train"] and calibrators == ["auto"]


def test_refitted_balanced_model_undoes_the_class_weights(training_set):
    # balanced weights train on odds inflated by (1 - rate) / rate; the prior shift brings the mean back
    result = train_target(training_set, "churn", config(**{"training.class_weight": "balanced"}))
    labelled = training_set.labels["churn"].notna()
    rate = float(training_set.labels.loc[labelled, "churn"].mean())
    assert rate < 0.35  # far from the 0.5 balanced odds would put the mean near
    assert result.model.predict(training_set.features[labelled]).mean() == pytest.approx(rate, abs=0.05)
    assert result.model.calibrator.method == "sigmoid"


def test_expansion_has_uplift_regressor(training_set):
    result = train_target(training_set, "expansion", config())
    assert result.uplift is not None
    uplift = result.uplift.predict(training_set.features.head(20))
    assert (uplift >= 0).all()


def test_uplift_predicts_a_mean_not_a_median(training_set):
    # trained on log(1 + uplift); the scale makes the calibration slice's predicted total its actual total
    result = train_target(training_set, "expansion", config())
    model = result.uplift
    rows = (training_set.slice == "calibration") & (training_set.labels["expansion"] == 1)
    actual = training_set.labels.loc[rows, "uplift"].clip(lower=0)
    predicted = model.predict(training_set.features[rows])
    assert predicted.sum() == pytest.approx(actual.sum(), rel=1e-9)
    raw = np.maximum(np.expm1(model.raw(training_set.features[rows])), 0)
    # the scale is the calibration slice's actual total over the bare back-transform's (which lands near a
    # median of a skewed amount when the expanding rows are many)
    assert model.scale == pytest.approx(actual.sum() / raw.sum(), rel=1e-9)
    assert result.uplift_metrics["scale"] == model.scale and np.isfinite(result.uplift_metrics["total_ratio"])
    again = TrainedModel.from_parts(model.booster.model_to_string(), model.metadata())
    assert again.scale == model.scale
    assert np.array_equal(again.predict(training_set.features[rows]), predicted)


def test_minimum_positive_guard_says_what_to_do(training_set):
    with pytest.raises(InsufficientDataError, match=r"at least 100000 are needed.*min_positives"):
        train_target(training_set, "churn", config(**{"training.min_positives": 100000}))


def test_model_roundtrip_through_text(training_set):
    result = train_target(training_set, "churn", config())
    again = TrainedModel.from_parts(result.model.booster.model_to_string(), result.model.metadata())
    X = training_set.features.head(50)
    assert np.allclose(again.predict(X), result.model.predict(X))


def test_published_classifier_blends_the_booster_with_a_logistic_regression(training_set):
    """Log-odds (1 - w) x booster + w x regression (`training.linear_weight`); 0 publishes the booster alone."""
    result = train_target(training_set, "churn", config())
    model = result.model
    assert model.linear is not None and model.linear_weight == 0.5 == result.params["linear_weight"]
    assert result.params["linear_penalty"] == 0.02
    X = model.spec.encode(training_set.features.head(100))
    trees = model.booster.predict(X, raw_score=True)
    blended = 0.5 * trees + 0.5 * model.linear.margin(X.to_numpy())
    np.testing.assert_allclose(model.raw_encoded(X), 1 / (1 + np.exp(-blended)), rtol=1e-12)
    # the linear half is refitted with the booster on every labelled cutoff
    validation = train_target(training_set, "churn", config(**{"training.refit": False})).model
    assert validation.linear is not None and validation.linear != model.linear
    alone = train_target(training_set, "churn", config(**{"training.linear_weight": 0})).model
    assert alone.linear is None and alone.linear_weight == 0
    assert (model.label, alone.label) == ("lightgbm+logistic", "lightgbm")  # as the leaderboard names them
    np.testing.assert_allclose(alone.raw_encoded(X), alone.booster.predict(X), rtol=1e-12)


def test_feature_spec_maps_unseen_categories_to_missing():
    frame = pd.DataFrame({"x": [1.0, 2.0], "c": pd.Categorical(["a", "b"])})
    spec = FeatureSpec.from_frame(frame)
    encoded = spec.encode(pd.DataFrame({"x": [3.0], "c": ["zzz"]}))
    assert np.isnan(encoded["c"].iloc[0]) and encoded["x"].iloc[0] == 3.0
    assert spec.encode(pd.DataFrame({"c": ["b"]}))["c"].iloc[0] == 1.0
    assert np.isnan(spec.encode(pd.DataFrame({"c": ["b"]}))["x"].iloc[0])


def test_metrics_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05])
    precision, lift = lift_at(y, s, 0.2)
    assert precision == 0.5 and lift == pytest.approx(2.5)
    m = classification_metrics(y, s)
    assert m["roc_auc"] == pytest.approx(15 / 16)  # 0.7 ranks below the negative 0.8


def test_isotonic_calibrator_is_monotone():
    rng = np.random.default_rng(0)
    raw = rng.uniform(size=500)
    y = (rng.uniform(size=500) < raw).astype(float)
    cal = Calibrator.fit("isotonic", raw, y)
    grid = np.linspace(0, 1, 50)
    assert np.all(np.diff(cal(grid)) >= 0)
    assert Calibrator.from_dict(cal.to_dict())(grid).tolist() == cal(grid).tolist()


def test_spreadsheet_headers_reach_the_booster_under_safe_names(tmp_path, capsys):
    """'Revenue [EUR]' or 'Owner: "Key"' are ordinary headers; LightGBM refuses JSON characters in names."""
    from tests.cli_helpers import run_cli
    from tests.conftest import make_tables, write_tables

    tables = make_tables()
    rng = np.random.default_rng(1)
    accounts = tables["accounts"]
    accounts["Revenue [EUR]"] = rng.lognormal(10, 1, len(accounts)).round(2)
    accounts['Owner: "Key"'] = rng.choice(["north, team", "south{x}"], len(accounts))
    data = write_tables(tmp_path / "data", tables)
    code, _, err = run_cli(["run", "--data", data, "--as-of", "2025-06-01", "--out", tmp_path / "ws"], capsys)
    assert code == 0, err
    explained = pd.read_parquet(tmp_path / "ws" / "exports" / "explanations.parquet")
    assert {"Revenue [EUR]", 'Owner: "Key"'} <= set(explained["feature"])  # the user's names, not ours


def test_model_names_replace_only_what_lightgbm_refuses_and_stay_unique():
    from potential.models.training import model_names

    assert model_names(["spend_90d", "Revenue [EUR]", "Revenue _EUR_", 'a:"b"']) == (
        "spend_90d",
        "Revenue _EUR_",
        "Revenue _EUR___2",
        "a__b_",
    )


def test_rare_targets_can_get_leaves_expected_to_hold_a_dozen_positives():
    assert Config().training.min_leaf_positives == 0  # off by default: configured sizes as they are
    assert lgb_params(Config(), "binary", rows=200_000, positive_rate=0.03)["min_child_samples"] == 40
    config = Config().with_overrides({"training.min_leaf_positives": 12})
    # 3% positives: leaves of 400 rows; 30%: the configured 40 stands (the rule only raises it)
    assert lgb_params(config, "binary", rows=200_000, positive_rate=0.03)["min_child_samples"] == 400
    assert lgb_params(config, "binary", rows=200_000, positive_rate=0.3)["min_child_samples"] == 40
    # never above 2% of the training rows, so a mid-sized table still splits
    assert lgb_params(config, "binary", rows=12_000, positive_rate=0.03)["min_child_samples"] == 240
    # no rate (the uplift regressor): the configured size
    assert lgb_params(config, "regression", rows=12_000)["min_child_samples"] == 40
