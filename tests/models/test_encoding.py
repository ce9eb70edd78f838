"""The baselines' category codes: one mapping whatever form or category order a later frame brings."""

import numpy as np
import pandas as pd

from potential.models.encoding import CategoryCodes
from potential.models.training import logistic_baseline


def test_codes_follow_the_fitted_categories_not_the_frame_order():
    fit = pd.DataFrame({"industry": pd.Categorical(["retail", "energy", None, "energy"])})
    later = pd.DataFrame(
        {
            "industry": pd.Categorical(
                ["energy", "mining", None, "retail"], categories=["retail", "mining", "energy"]
            )
        }
    )
    codes = CategoryCodes().fit(fit)
    assert codes.categories_ == [["energy", "retail"]]
    assert codes.transform(fit)[:, 0].tolist() == [1, 0, -1, 0]
    # unseen (mining) and missing share -1; the same category keeps its code under another category order
    assert codes.transform(later)[:, 0].tolist() == [0, -1, -1, 1]


def test_object_and_categorical_columns_encode_alike():
    values = ["a", "b", None, "c", 3]
    as_category = pd.DataFrame({"x": pd.Categorical([str(v) if v is not None else None for v in values])})
    as_object = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    codes = CategoryCodes().fit(as_category)
    assert np.array_equal(codes.transform(as_category), codes.transform(as_object))


def test_logistic_baseline_scores_categorical_and_object_frames_the_same():
    rng = np.random.default_rng(0)
    n = 400
    band = rng.choice(["small", "mid", "large"], n)
    frame = pd.DataFrame({"spend": rng.gamma(2.0, 100.0, n), "band": pd.Categorical(band)})
    y = ((band == "large") | (rng.random(n) < 0.2)).astype(int)
    pipe = logistic_baseline(frame).fit(frame, y)
    objects = frame.assign(band=frame["band"].astype(object))
    assert np.allclose(pipe.predict_proba(frame), pipe.predict_proba(objects))
    # the category carries the signal the labels were drawn from
    p = pipe.predict_proba(frame)[:, 1]
    assert p[band == "large"].mean() > p[band != "large"].mean() + 0.3


def test_logistic_baseline_reaches_the_optimum_both_solvers_share():
    """Newton steps for a narrow table, LBFGS for a wide one: the same model, the same medians imputed."""
    from sklearn.impute import SimpleImputer

    from potential.models.training import NEWTON_MAX_COLUMNS

    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    frame = frame.mask(rng.random(frame.shape) < 0.1).assign(empty=np.nan)
    y = (frame["x0"].fillna(0) + 0.5 * frame["x1"].fillna(0) + rng.logistic(size=n) > 0).astype(int)
    narrow = logistic_baseline(frame)
    assert narrow[-1].solver == "newton-cholesky"
    narrow.fit(frame, y)
    imputer = narrow[0].named_transformers_["num"][0]
    reference = SimpleImputer(strategy="median", keep_empty_features=True).fit(frame)
    assert np.allclose(imputer.statistics_, reference.statistics_)  # the empty column gets 0, as there
    wide = logistic_baseline(frame)
    wide.set_params(lr__solver="lbfgs", lr__tol=1e-10).fit(frame, y)
    assert np.allclose(narrow.predict_proba(frame), wide.predict_proba(frame), atol=1e-4)
    many = pd.DataFrame({"c": pd.Categorical(np.arange(n) % (NEWTON_MAX_COLUMNS + 1))})
    assert logistic_baseline(many)[-1].solver == "lbfgs"


def test_booster_encoding_reads_category_codes_as_it_reads_text():
    """A categorical column (any category order, unseen and missing values) encodes as its text does."""
    from potential.models.training import FeatureSpec

    spec = FeatureSpec(("band", "spend", "absent"), {"band": ("large", "mid", "small")})
    values = ["small", None, "tiny", "large", "mid", "small"]
    as_text = pd.DataFrame({"band": pd.Series(values, dtype=object), "spend": ["1.5", "x", 3, 4, 5, 6]})
    as_category = as_text.assign(
        band=pd.Categorical(values, categories=["tiny", "small", "mid", "large", "unused"])
    )
    encoded = spec.encode(as_category)
    pd.testing.assert_frame_equal(encoded, spec.encode(as_text))
    assert encoded["band"].iloc[[0, 3, 4]].tolist() == [2.0, 0.0, 1.0]  # the training codes
    assert encoded["band"].iloc[[1, 2]].isna().all()  # missing and unseen
    assert encoded["spend"].iloc[0] == 1.5 and np.isnan(encoded["spend"].iloc[1])  # text read as numbers
    assert encoded["absent"].isna().all()
