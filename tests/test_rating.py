from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.config import packaged_resource
from potential.errors import ConfigError
from potential.rating import load_profile, profile_warnings, rate_accounts

ROOT = Path(__file__).parents[1]


@pytest.fixture
def profile():
    return load_profile(packaged_resource("rating_profile.yaml"))


def test_packaged_profile_is_the_editable_one(profile):
    assert (ROOT / "configs" / "rating_profile.yaml").read_text() == packaged_resource("rating_profile.yaml").read_text()
    assert len(profile.criteria) >= 18
    assert {c.seed for c in profile.criteria} >= {"000", "001", "003", "004"}


def accounts(**overrides):
    base = {"collaboration": "neutral", "buyer_orientation": "value", "culture_fit": "fair", "growth_trend": "flat",
            "potential_multiple": 5.0, "employees": 500}
    base.update(overrides)
    return base


def test_best_is_not_biggest(profile):
    frame = pd.DataFrame([
        accounts(collaboration="win_win", buyer_orientation="value", potential_multiple=3.0, employees=50),
        accounts(collaboration="adversarial", buyer_orientation="price", potential_multiple=40.0, employees=50000),
    ], index=pd.Index(["small_partner", "big_price_buyer"], name="account_id"))
    scores = rate_accounts(profile, frame).scores
    assert scores.loc["small_partner", "rating_score"] > scores.loc["big_price_buyer", "rating_score"]


def test_unknown_is_neutral_and_counted(profile):
    frame = pd.DataFrame([{"culture_fit": "good"}, {"culture_fit": None}], index=pd.Index(["a", "b"], name="account_id"))
    result = rate_accounts(profile, frame)
    assert result.scores.loc["b", "rating_score"] == 50.0
    assert result.scores.loc["b", "rating_unknown"] == len(profile.criteria)
    assert result.scores.loc["a", "rating_score"] > 50.0
    rows = result.contributions[result.contributions["account_id"] == "b"]
    assert (rows["points"] == 0).all() and not rows["known"].any()
    assert rows["sentence"].str.contains("unknown").all()


def test_score_range_sum_and_grades(profile):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "culture_fit": rng.choice(["good", "fair", "poor", None], n),
        "collaboration": rng.choice(["win_win", "neutral", "adversarial"], n),
        "reputation": rng.integers(1, 6, n), "executive_sponsor": rng.choice(["yes", "no"], n),
        "peer_spend_percentile": rng.uniform(size=n), "potential_multiple": rng.uniform(0, 40, n),
    }, index=pd.Index([f"x{i}" for i in range(n)], name="account_id"))
    before = frame.copy()
    result = rate_accounts(profile, frame)
    pd.testing.assert_frame_equal(frame, before)
    s = result.scores["rating_score"]
    assert s.between(0, 100).all()
    sums = result.contributions.groupby("account_id")["points"].sum().reindex(s.index)
    assert np.allclose(50 + sums, s, atol=0.06)
    assert set(result.scores["rating_grade"]) <= set("ABCD")
    assert (result.scores.loc[s >= 75, "rating_grade"] == "A").all()
    assert (result.scores.loc[s < 45, "rating_grade"] == "D").all()
    again = rate_accounts(profile, frame)
    pd.testing.assert_frame_equal(again.scores, result.scores)


def test_profile_warnings_for_missing_columns(profile):
    warnings = profile_warnings(profile, ["culture_fit"])
    assert any("count as unknown" in w and "growth_trend" in w for w in warnings)
    assert any("optional" in w for w in warnings)


BAD = {
    "weight_text": ("weight: heavy", "criterion 'fit' weight"),
    "weight_negative": ("weight: -2", "criterion 'fit' weight"),
    "bins_not_increasing": ("rule: {type: thresholds, bins: [3, 1], scores: [0, 0.5, 1]}", "criterion 'fit'.*strictly increasing"),
    "length_mismatch": ("rule: {type: thresholds, bins: [1, 2], scores: [0, 1]}", "criterion 'fit'.*one score more"),
    "unknown_rule": ("rule: {type: fuzzy, values: {a: 1}}", "criterion 'fit' rule"),
    "score_out_of_range": ("rule: {type: map, values: {good: 2.0}}", "criterion 'fit'.*between 0 and 1"),
    "unknown_key": ("colour: red", "criterion 'fit'.*unknown key"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_profiles_name_the_criterion(tmp_path, case):
    line, pattern = BAD[case]
    body = {"weight": "weight: 2", "rule": "rule: {type: map, values: {good: 1.0}}"}
    key = line.split(":")[0]
    body[key] = line
    text = "criteria:\n  - name: fit\n    attribute: culture_fit\n    sentence: Fit\n" + "".join(f"    {v}\n" for v in body.values())
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        load_profile(path)


def test_duplicate_criterion_and_malformed_yaml(tmp_path):
    one = "  - name: fit\n    attribute: culture_fit\n    weight: 1\n    sentence: Fit\n    rule: {type: boolean}\n"
    path = tmp_path / "p.yaml"
    path.write_text("criteria:\n" + one + one)
    with pytest.raises(ConfigError, match="criterion 'fit' is defined twice"):
        load_profile(path)
    path.write_text("criteria:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_profile(path)
