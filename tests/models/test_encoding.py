"""The booster's encoding and the logistic baseline read off it: one mapping whatever form or category order a
later frame brings."""

import numpy as np
import pandas as pd
import pytest

from potential.models import linear
from potential.models.linear import LinearPart
from potential.models.training import FeatureSpec, LogisticBaseline, category_levels


def test_logistic_baseline_scores_categorical_and_object_frames_the_same():
    rng = np.random.default_rng(0)
    n = 400
    band = rng.choice(["small", "mid", "large"], n)
    frame = pd.DataFrame({"spend": rng.gamma(2.0, 100.0, n), "band": pd.Categorical(band)})
    y = ((band == "large") | (rng.random(n) < 0.2)).astype(float)
    spec = FeatureSpec.from_frame(frame)
    baseline = LogisticBaseline(spec, LinearPart.fit(spec.encode(frame).to_numpy(), y, category_levels(spec)))
    objects = frame.assign(band=frame["band"].astype(object))
    reordered = frame.assign(band=frame["band"].cat.reorder_categories(["small", "large", "mid"]))
    assert np.allclose(baseline.predict_proba(frame), baseline.predict_proba(objects))
    assert np.allclose(baseline.predict_proba(frame), baseline.predict_proba(reordered))
    # the category carries the signal the labels were drawn from
    p = baseline.predict_proba(frame)[:, 1]
    assert np.allclose(baseline.predict_proba(frame).sum(axis=1), 1.0)
    assert p[band == "large"].mean() > p[band != "large"].mean() + 0.3


def test_newton_and_lbfgs_reach_the_same_optimum(monkeypatch):
    """Newton steps for a narrow design, LBFGS for a wide one: the same model, the same medians imputed
    (an empty column gets 0 and no coefficient)."""
    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    frame = frame.mask(rng.random(frame.shape) < 0.1).assign(empty=np.nan)
    y = (frame["x0"].fillna(0) + 0.5 * frame["x1"].fillna(0) + rng.logistic(size=n) > 0).astype(float)
    X = frame.to_numpy()
    narrow = LinearPart.fit(X, y, {})
    assert narrow.median[:6] == pytest.approx(tuple(frame.iloc[:, :6].median()))
    assert narrow.median[6] == 0 and narrow.coef[6] == 0
    monkeypatch.setattr(linear, "NEWTON_MAX_COLUMNS", 3)  # the same design, now "wide"
    wide = LinearPart.fit(X, y, {})
    np.testing.assert_allclose(narrow.margin(X), wide.margin(X), atol=3e-3)  # LBFGS stops a little short


def test_booster_encoding_reads_category_codes_as_it_reads_text():
    """A categorical column (any category order, unseen and missing values) encodes as its text does."""
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
