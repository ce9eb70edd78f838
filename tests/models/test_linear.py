"""The blend's linear half: the classic logistic regression, read off the booster's matrix, explained exactly."""

import json

import numpy as np
import pandas as pd
import pytest

from potential.models.linear import (
    FILL_ROWS,
    MIN_LEVEL_ROWS,
    PENALTY_C,
    Design,
    LinearPart,
    signed_log,
    solve_logistic,
)
from potential.models.training import FeatureSpec, LinearRows, balanced_weights


def classic_pipeline(frame: pd.DataFrame):
    """The classic logistic regression built from scikit-learn's own parts: the reference to match."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = [c for c in frame.columns if not isinstance(frame[c].dtype, pd.CategoricalDtype)]
    categorical = [c for c in frame.columns if c not in numeric]
    prep = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True),
                    FunctionTransformer(signed_log),
                    StandardScaler(),
                ),
                numeric,
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=MIN_LEVEL_ROWS), categorical),
        ]
    )
    return make_pipeline(prep, LogisticRegression(C=PENALTY_C, solver="newton-cholesky", max_iter=2000))


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame(
        {
            "spend": rng.gamma(2.0, 300.0, n),
            "orders": rng.poisson(4, n).astype(float),
            "band": pd.Categorical(rng.choice(["small", "mid", "large"], n, p=[0.5, 0.3, 0.2])),
            "trend": rng.normal(size=n),
        }
    )
    frame.loc[rng.random(n) < 0.15, "orders"] = np.nan  # missing values get a flag of their own
    logit = 0.8 * np.log1p(frame["spend"]) - 5 + 1.2 * (frame["band"] == "large") + 0.7 * frame["trend"]
    y = (rng.random(n) < 1 / (1 + np.exp(-(logit + 0.6 * frame["orders"].isna())))).astype(int)
    spec = FeatureSpec.from_frame(frame)
    levels = {j: len(spec.categories[c]) for j, c in enumerate(spec.columns) if c in spec.categories}
    return frame, y.to_numpy(), spec, levels


def test_it_is_the_classic_logistic_regression(table):
    """Same preprocessing and penalty as the logistic baseline: the same log-odds, from the encoded matrix."""
    frame, y, spec, levels = table
    part = LinearPart.fit(spec.encode(frame).to_numpy(), y, levels)
    reference = classic_pipeline(frame).fit(frame, y)
    np.testing.assert_allclose(
        part.margin(spec.encode(frame).to_numpy()), reference.decision_function(frame), atol=1e-6
    )
    orders = spec.columns.index("orders")  # the missing flag carries its signal (0.6 in log-odds)
    assert part.flag_coef[orders] / part.flag_scale[orders] == pytest.approx(0.6, abs=0.2)
    assert part.flag_coef[spec.columns.index("spend")] == 0  # no missing value in training: no flag


def test_contributions_add_up_to_the_margin_and_centre_on_the_training_rows(table):
    frame, y, spec, levels = table
    X = spec.encode(frame).to_numpy()
    part = LinearPart.fit(X, y, levels)
    phi, base = part.contributions(X)
    np.testing.assert_allclose(base + phi.sum(axis=1), part.margin(X), atol=1e-10)
    np.testing.assert_allclose(phi.mean(axis=0), 0, atol=1e-10)
    # each column's value is a function of that column alone: change one cell, one contribution moves
    other = X.copy()
    other[:, spec.columns.index("trend")] += 1.0
    moved = part.contributions(other)[0] - phi
    assert np.allclose(np.delete(moved, spec.columns.index("trend"), axis=1), 0)
    assert (moved[:, spec.columns.index("trend")] > 0).all()


def test_unseen_missing_and_rare_levels_share_one_coefficient():
    rng = np.random.default_rng(5)
    n = 600
    band = np.where(np.arange(n) < MIN_LEVEL_ROWS - 1, "rare", rng.choice(["a", "b"], n))
    frame = pd.DataFrame({"band": pd.Categorical(band), "x": rng.normal(size=n)})
    y = (rng.random(n) < np.where(band == "a", 0.7, 0.3)).astype(int)
    spec = FeatureSpec.from_frame(frame)
    part = LinearPart.fit(spec.encode(frame).to_numpy(), y, {0: len(spec.categories["band"])})
    table = dict(zip((*spec.categories["band"], "other"), part.levels[0], strict=True))
    assert table["rare"] == table["other"] != table["a"]
    later = pd.DataFrame({"band": ["rare", "never seen", None, "a"], "x": 0.0})
    terms = part.terms(spec.encode(later).to_numpy())[:, 0]
    assert terms[0] == terms[1] == terms[2] == table["other"] and terms[3] == table["a"]


def test_json_round_trip_keeps_every_number(table):
    frame, y, spec, levels = table
    X = spec.encode(frame).to_numpy()
    part = LinearPart.fit(X, y, levels)
    again = LinearPart.from_dict(json.loads(json.dumps(part.to_dict())))
    assert again == part
    np.testing.assert_array_equal(again.margin(X), part.margin(X))


def test_balanced_weights_shift_the_intercept_by_the_prior(table):
    """Weighted as the booster is under class_weight: balanced, so the refit's prior correction holds."""
    from potential.models.training import balanced_weights

    frame, y, spec, levels = table
    X = spec.encode(frame).to_numpy()
    plain = LinearPart.fit(X, y, levels)
    weighted = LinearPart.fit(X, y, levels, balanced_weights(y))
    rate = y.mean()
    shift = np.mean(weighted.margin(X) - plain.margin(X))
    assert shift == pytest.approx(np.log((1 - rate) / rate), abs=0.25)


def test_a_stronger_penalty_lets_correlated_columns_share_the_credit():
    """Two near copies of one signal: nearly unpenalised, the fit splits the effect between them by noise (in
    the product: spend over nested windows, with large opposite terms); shrunk (`training.linear_penalty`),
    they share it, so neither is named as a reason for what the other carries."""
    rng = np.random.default_rng(9)
    n = 20_000
    signal = rng.normal(size=n)
    X = np.column_stack([signal + 0.02 * rng.normal(size=n), signal + 0.02 * rng.normal(size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(float)
    loose = LinearPart.fit(X, y, {}, penalty=1e4)
    shrunk = LinearPart.fit(X, y, {}, penalty=1e-4)
    assert abs(loose.coef[0] - loose.coef[1]) > 0.5 * abs(sum(loose.coef))
    assert shrunk.coef[0] > 0 and shrunk.coef[1] > 0
    assert abs(shrunk.coef[0] - shrunk.coef[1]) < 0.01 * sum(shrunk.coef)


def test_a_design_learnt_on_some_rows_fills_any_and_reads_its_fit_back(table):
    """`Design.matrix` of rows it was not learnt on (constants of the learning rows), and `solution`, the
    inverse of the fit's mapping: the part's margin is the design's linear predictor."""
    frame, y, spec, levels = table
    X = spec.encode(frame).to_numpy()
    design = Design.learn(X[:3000], levels)
    Z = design.matrix(X)
    orders = spec.columns.index("orders")
    value = design.slots.index((orders, "value", 0))
    filled = np.where(np.isnan(X[3000:, orders]), design.median[orders], X[3000:, orders])
    np.testing.assert_allclose(
        Z[3000:, value], (signed_log(filled) - design.mean[orders]) / design.scale[orders], rtol=1e-12
    )
    part = LinearPart.fit_design(design, Z[:3000], y[:3000])
    beta = design.solution(part)
    np.testing.assert_allclose(part.margin(X), Z @ beta[:-1] + beta[-1], atol=1e-10)
    numbers = [i for i, (_, kind, _) in enumerate(design.slots) if kind != "level"]
    assert np.allclose(Z[:3000, numbers].mean(axis=0), 0)  # standardised on the rows it was learnt on


def test_nested_fits_share_one_design_and_reach_the_optimum_of_a_fresh_start(table):
    """A training run's three regressions (`LinearRows`): each starts where the previous ended, on a leading
    block of one matrix, and lands where a fit from zero lands."""
    frame, y, spec, levels = table
    n = len(frame)
    slices = {
        name: pd.Series((np.arange(n) >= lo) & (np.arange(n) < hi), index=frame.index)
        for name, lo, hi in (("train", 0, 2800), ("calibration", 2800, 3400), ("test", 3400, n))
    }

    class Rows:  # the two fields of a training set LinearRows reads
        features = frame
        labels = pd.DataFrame({"churn": y.astype(float)}, index=frame.index)

    rows = LinearRows.of(Rows, "churn", slices, spec, through="test")  # type: ignore[arg-type]
    assert rows.ends == {"train": 2800, "calibration": 3400, "test": n}
    X = spec.encode(frame).to_numpy()
    validation = rows.fit("train", 0.02, "balanced")
    refit = rows.fit("test", 0.02, "balanced")
    baseline = rows.fit("calibration", PENALTY_C)
    assert rows._last is not None  # the next fit would start from the baseline's solution
    for part, stop, weight, penalty in (
        (validation, 2800, balanced_weights(y[:2800]), 0.02),
        (refit, n, balanced_weights(y), 0.02),
        (baseline, 3400, None, PENALTY_C),
    ):
        fresh = LinearPart.fit_design(rows.design, rows.Z[:stop], y[:stop], weight, penalty)
        np.testing.assert_allclose(part.margin(X), fresh.margin(X), atol=1e-3)  # the solver's tolerance
    # the unweighted baseline's mean probability is its rows' rate, not the balanced fit's one half
    assert np.mean(1 / (1 + np.exp(-baseline.margin(X[:3400])))) == pytest.approx(y[:3400].mean(), abs=0.005)
    assert abs(y.mean() - 0.5) > 0.05


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("penalty", [0.02, PENALTY_C, 1e4])
def test_the_newton_solver_takes_scikit_learns_steps_to_its_optimum(weighted, penalty):
    """`solve_logistic` against `LogisticRegression(C=penalty, solver="newton-cholesky")`, from zero and from
    a start, on more rows than one Hessian block, with correlated columns and a rare class: the same steps and
    stopping rule land on the same coefficients, within 1e-7 of the optimum solved to a far tighter tolerance."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(11)
    n = FILL_ROWS * 2 + 517
    base = rng.normal(size=(n, 6))
    Z = np.column_stack([base, base[:, :2] + 0.1 * rng.normal(size=(n, 2)), rng.random(n) < 0.05])
    y = (rng.random(n) < 1 / (1 + np.exp(-(Z @ np.linspace(-1, 1, Z.shape[1]) - 2.5)))).astype(float)
    weight = balanced_weights(y) if weighted else None
    sw = np.ones(n) if weight is None else weight

    def objective(theta):  # scikit-learn's, scaled by the total weight
        margin = Z @ theta[:-1] + theta[-1]
        penalty_term = theta[:-1] @ theta[:-1] / (2 * penalty * sw.sum())
        return (sw @ np.logaddexp(0, margin) - (sw * y) @ margin) / sw.sum() + penalty_term

    def sklearn(start, tol=1e-4):
        lr = LogisticRegression(C=penalty, solver="newton-cholesky", tol=tol, max_iter=500, warm_start=True)
        if start is not None:
            lr.coef_, lr.intercept_ = start[None, :-1].copy(), start[-1:].copy()
        lr.fit(Z, y, sample_weight=weight)
        return np.append(lr.coef_[0], lr.intercept_)

    best = objective(sklearn(None, tol=1e-12))
    for start in (None, np.append(np.linspace(0.5, -0.5, Z.shape[1]), 0.3)):
        theta = np.append(*solve_logistic(Z, y, weight, penalty, start))
        np.testing.assert_allclose(theta, sklearn(start), atol=1e-8)
        assert objective(theta) - best < 1e-7
