"""`tree_contributions` gives LightGBM's own pred_contrib numbers, computed once per decision pattern."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import load_dataset
from potential.labels.training_set import build_training_set
from potential.models.training import train_target
from potential.scoring import explain, treeshap
from potential.scoring.treeshap import MIN_ROWS, tree_contributions

ATOL = 1e-9
ZERO = float(np.float32(1e-35))  # LightGBM's zero band edge


def _plain(booster: lgb.Booster, X: np.ndarray, num_iteration: int | None = None) -> np.ndarray:
    return np.asarray(booster.predict(X, pred_contrib=True, num_iteration=num_iteration))


def _numeric_frame(rng: np.random.Generator, n: int, complete: tuple[int, ...] = ()) -> np.ndarray:
    """Six features with NaNs (but in the `complete` columns), exact zeros, negatives and a few discrete
    columns."""
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.lognormal(size=n) * rng.choice([0.0, 1.0, -1.0], n, p=[0.3, 0.6, 0.1]),
            rng.integers(0, 6, n).astype(float),
            rng.uniform(-5, 5, n),
            rng.choice([0.0, 1.0], n, p=[0.6, 0.4]),
            rng.exponential(size=n),
        ]
    )
    missing = rng.random(X.shape) < 0.12
    missing[:, list(complete)] = False
    X[missing] = np.nan
    return X


def _label(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    v = np.nan_to_num(X, nan=0.7)
    score = v[:, 0] + 0.8 * np.sign(v[:, 1]) + 0.3 * v[:, 2] - 0.2 * v[:, 3] + v[:, 4] - 0.5 * v[:, 5]
    score += np.isnan(X[:, 0]) * 1.0 - (X[:, 1] == 0) * 0.8
    return (score + rng.logistic(size=len(X)) > 0.5).astype(int)


def _train(X: np.ndarray, y: np.ndarray, rounds: int = 40, **params: object) -> lgb.Booster:
    base = {"objective": "binary", "num_leaves": 15, "learning_rate": 0.1, "min_child_samples": 10}
    return lgb.train(
        {**base, "verbosity": -1, "num_threads": 1, **params}, lgb.Dataset(X, y), num_boost_round=rounds
    )


def _thresholds(booster: lgb.Booster) -> pd.DataFrame:
    trees = booster.trees_to_dataframe()
    return trees[trees["decision_type"] == "<="][["split_feature", "threshold", "missing_type"]]


def _hostile_rows(booster: lgb.Booster, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Test rows with values exactly at thresholds (and one ulp either side), in the zero band, never seen in
    training (far outside the range, infinite), besides the ordinary ones."""
    X = X.copy()
    names = booster.feature_name()
    splits = _thresholds(booster)
    for name, group in splits.groupby("split_feature"):
        j = names.index(name)
        thresholds = group["threshold"].to_numpy(dtype=float)
        picks = rng.choice(thresholds, len(X) // 4)
        picks = picks + rng.choice([0.0, 0.0, 1.0, -1.0], len(picks)) * np.spacing(picks)
        rows = rng.choice(len(X), len(picks), replace=False)
        X[rows, j] = picks
    cells = rng.choice(X.size, 400, replace=False)
    X.flat[cells] = rng.choice([ZERO, -ZERO, 1e-36, -1e-36, -0.0, 1e9, -1e9, np.inf, -np.inf], len(cells))
    return X


@pytest.fixture
def grouped_only(monkeypatch):
    """Fails the test when a row needed the safety net (plain pred_contrib): the grouping alone is exact."""
    predict = treeshap._predict

    def no_plain_contributions(booster, X, num_iteration, n_jobs, **kind):
        assert not kind.get("pred_contrib"), "plain pred_contrib used"
        return predict(booster, X, num_iteration, n_jobs, **kind)

    monkeypatch.setattr(treeshap, "_predict", no_plain_contributions)


@pytest.fixture(scope="module")
def numeric() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = _numeric_frame(rng, 4000, complete=(3,))  # no NaN in training: its splits' missing type is None
    return X, _label(X, rng)


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_numerical_model_with_nans_zeros_and_thresholds(numeric, zero_as_missing, grouped_only):
    X, y = numeric
    booster = _train(X, y, zero_as_missing=zero_as_missing)
    splits = _thresholds(booster)
    kinds = set(splits["missing_type"])
    assert ("Zero" in kinds) == zero_as_missing and ("NaN" in kinds) != zero_as_missing
    # a column without NaN in training: at its splits below 0, NaN (read as 0.0) goes right
    if not zero_as_missing:
        assert ((splits["missing_type"] == "None") & (splits["threshold"] < 0)).any()
    test = _hostile_rows(booster, _numeric_frame(np.random.default_rng(5), 3000), np.random.default_rng(6))
    assert len(test) >= MIN_ROWS
    np.testing.assert_allclose(tree_contributions(booster, test), _plain(booster, test), rtol=0, atol=ATOL)


def test_thresholds_inside_the_zero_band_are_kept_apart(numeric, grouped_only):
    """Features of tiny values make LightGBM place thresholds at +-1e-35; values there read as zero."""
    X, y = numeric
    tiny = X * 1e-35
    booster = _train(tiny, y, min_data_in_bin=1)
    test = tiny[:3000].copy()
    test[::7, 1] = -ZERO
    test[1::7, 1] = ZERO
    test[2::7, 1] = np.nextafter(-ZERO, -np.inf)
    np.testing.assert_allclose(tree_contributions(booster, test), _plain(booster, test), rtol=0, atol=ATOL)


def test_categorical_model_from_pandas(grouped_only):
    rng = np.random.default_rng(11)
    n = 4000
    region = pd.Categorical(rng.choice([f"r{i}" for i in range(12)], n))
    frame = pd.DataFrame({"region": region, "size": rng.lognormal(size=n), "tenure": rng.integers(0, 9, n)})
    frame.loc[rng.random(n) < 0.1, "region"] = np.nan
    effect = np.r_[np.linspace(-1.5, 1.5, 12), 0.4]
    y = (
        effect[frame["region"].cat.codes.to_numpy()] + 0.3 * frame["size"] + rng.logistic(size=n) > 0
    ).astype(int)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbosity": -1, "num_threads": 1, "min_data_per_group": 5},
        lgb.Dataset(frame, y),
        num_boost_round=40,
    )
    assert (booster.trees_to_dataframe()["decision_type"] == "==").any()
    codes = frame["region"].cat.codes.to_numpy().astype(float)
    X = np.column_stack([np.where(codes < 0, np.nan, codes), frame["size"], frame["tenure"]])[:3000]
    np.testing.assert_allclose(X[:, 1:], frame[["size", "tenure"]].to_numpy()[:3000])
    plain_from_pandas = np.asarray(booster.predict(frame.iloc[:3000], pred_contrib=True))
    np.testing.assert_allclose(tree_contributions(booster, X), plain_from_pandas, rtol=0, atol=ATOL)
    # codes never seen in training: out of range, negative, fractional, huge
    X[::5, 0] = rng.choice([12.0, 30.0, -1.0, -0.5, 2.5, 1e10, np.inf, np.nan], len(X[::5]))
    np.testing.assert_allclose(tree_contributions(booster, X), _plain(booster, X), rtol=0, atol=ATOL)


def test_fewer_iterations_than_trees_and_best_iteration(numeric, grouped_only):
    X, y = numeric
    booster = _train(X, y, rounds=30)
    test = X[:2500]
    for k in (1, 7, 30, 100):
        np.testing.assert_allclose(
            tree_contributions(booster, test, k), _plain(booster, test, k), rtol=0, atol=ATOL
        )
    booster.best_iteration = 12  # as early stopping leaves it: predict(num_iteration=None) keeps 12 trees
    np.testing.assert_allclose(tree_contributions(booster, test), _plain(booster, test), rtol=0, atol=ATOL)
    assert not np.allclose(_plain(booster, test), _plain(booster, test, 30))


def test_threads_and_row_blocks_give_the_same_numbers(numeric, monkeypatch, grouped_only):
    X, y = numeric
    booster = _train(X, y)
    expected = _plain(booster, X)
    np.testing.assert_allclose(tree_contributions(booster, X, n_jobs=1), expected, rtol=0, atol=ATOL)
    monkeypatch.setattr(treeshap, "ROW_BLOCK", 1500)  # three blocks, the last one short
    np.testing.assert_allclose(tree_contributions(booster, X, n_jobs=3), expected, rtol=0, atol=ATOL)


def test_wide_keys_are_compacted(numeric, monkeypatch, grouped_only):
    """Keys too wide for int32, then for int64 (here made tiny), are renumbered on the way: same numbers."""
    X, y = numeric
    booster = _train(X, y, rounds=10)
    monkeypatch.setattr(treeshap, "_NARROW_KEY", 1)
    monkeypatch.setattr(treeshap, "_MAX_KEY", 50)
    np.testing.assert_allclose(tree_contributions(booster, X), _plain(booster, X), rtol=0, atol=ATOL)


def test_small_inputs_and_other_models_use_plain_pred_contrib(numeric, monkeypatch):
    X, y = numeric
    booster = _train(X, y)

    def refuse(*args, **kwargs):
        raise AssertionError("grouped path taken")

    monkeypatch.setattr(treeshap._Model, "read", refuse)
    small = X[: MIN_ROWS - 1]
    np.testing.assert_array_equal(tree_contributions(booster, small), _plain(booster, small))
    multiclass = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1},
        lgb.Dataset(X, y + (np.nan_to_num(X[:, 2]) > 3)),
        num_boost_round=5,
    )
    np.testing.assert_array_equal(tree_contributions(multiclass, X), _plain(multiclass, X))


def test_rows_that_do_not_add_up_are_recomputed(numeric, monkeypatch):
    """The safety net: a row whose contributions miss the raw score gets plain pred_contrib."""
    X, y = numeric
    booster = _train(X, y)
    combine = treeshap._combine

    def broken(parts, n_trees):
        out = combine(parts, n_trees)
        out[::100, 0] += 0.5
        return out

    monkeypatch.setattr(treeshap, "_combine", broken)
    np.testing.assert_allclose(tree_contributions(booster, X), _plain(booster, X), rtol=0, atol=ATOL)


@pytest.fixture(scope="module")
def project_model(tmp_path_factory):
    from tests.conftest import make_tables, write_tables

    data = write_tables(tmp_path_factory.mktemp("treeshap") / "data", make_tables())
    ts = build_training_set(load_dataset(data, DataConfig()), pd.Timestamp("2025-06-01"), Config())
    return ts, train_target(ts, "churn", Config().with_overrides({"training.min_positives": 5})).model


def test_explain_contributions_unchanged_on_a_project_model(project_model, monkeypatch, grouped_only):
    ts, model = project_model
    features = ts.features
    assert model.spec.categories  # categorical columns as training codes
    monkeypatch.setattr(treeshap, "MIN_ROWS", 0)  # the grouped path, on this small training set
    points, prob, base = explain.contributions(model, features)

    def plain(booster, X, num_iteration, n_jobs):
        return np.asarray(booster.predict(X, pred_contrib=True, num_iteration=num_iteration))

    monkeypatch.setattr(explain, "tree_contributions", plain)
    old_points, old_prob, old_base = explain.contributions(model, features)
    pd.testing.assert_frame_equal(points, old_points, check_exact=False, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(prob, old_prob)
    assert base == pytest.approx(old_base, abs=1e-12)
