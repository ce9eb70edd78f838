"""PSI of features and scores between two runs, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from potential.scoring.drift import EPSILON, PROFILE_COLUMNS, bin_profile, drift_table, psi


def table(reference: pd.DataFrame, current: pd.DataFrame, threshold: float = 0.2, bins: int = 10):
    return drift_table(bin_profile({"feature": reference}, bins=bins), {"feature": current}, threshold)


def by_hand(shares: list[tuple[float, float]]) -> float:
    """The documented formula over (before, now) shares, each floored at EPSILON."""
    total = 0.0
    for before, now in shares:
        e, a = max(before, EPSILON), max(now, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def test_psi_of_identical_shares_is_zero_and_of_a_shift_is_the_formula():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(expected)  # 0.274653
    assert psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(0.274653, abs=1e-6)
    # an empty bin counts as EPSILON, not as an infinite term
    assert psi(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(
        (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    )


def test_the_same_values_do_not_drift():
    values = pd.DataFrame({"x": [0.0, 1.0, 2.0, np.nan, 5.0, 7.0], "kind": ["a", "b", "a", None, "c", "a"]})
    out = table(values, values.sample(frac=1.0, random_state=1))
    assert set(out["column"]) == {"x", "kind"}
    assert (out["psi"] == 0).all() and not out["drifted"].any()


def test_numeric_bins_come_from_the_previous_run_and_missing_is_a_bin():
    # two bins split at the median 0.5: the previous run has 2 + 2, the current 1 + 3
    out = table(pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0]}), pd.DataFrame({"x": [0.0, 1.0, 1.0, 1.0]}), bins=2)
    row = out.set_index("column").loc["x"]
    assert row["bins"] == 3  # x <= 0.5, x > 0.5, missing
    assert row["psi"] == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5), abs=1e-6)
    assert row["drifted"]  # 0.2747 >= 0.2
    # half the values go missing: the missing bin carries the shift
    gone = table(
        pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0]}), pd.DataFrame({"x": [0.0, np.nan, 1.0, np.nan]}), bins=2
    )
    # bins (before -> now): x <= 0.5 .5 -> .25, x > 0.5 .5 -> .25, missing 0 -> .5
    assert gone.loc[0, "psi"] == pytest.approx(by_hand([(0.5, 0.25), (0.5, 0.25), (0.0, 0.5)]))
    assert gone.loc[0, "current_missing"] == 0.5 and gone.loc[0, "reference_missing"] == 0.0


def test_categorical_columns_are_binned_by_category_and_a_new_category_is_its_own_bin():
    before = pd.DataFrame({"region": pd.Categorical(["north", "north", "south", None])})
    after = pd.DataFrame({"region": pd.Categorical(["north", "south", "south", "west"])})
    row = table(before, after).iloc[0]
    # bins: north .5 -> .25, south .25 -> .5, missing .25 -> 0, west (new) 0 -> .25
    assert row["kind"] == "categorical" and row["bins"] == 4
    assert row["psi"] == pytest.approx(
        by_hand([(0.5, 0.25), (0.25, 0.5), (0.25, 0.0), (0.0, 0.25)]), abs=1e-6
    )


def test_profile_keeps_bins_and_shares_not_values():
    frame = pd.DataFrame({"x": np.arange(100, dtype=float), "flag": [True, False] * 50})
    prof = bin_profile({"feature": frame, "score": pd.DataFrame({"p": np.linspace(0, 1, 100)})})
    assert tuple(prof.columns) == PROFILE_COLUMNS
    x = prof[prof["column"] == "x"]
    assert len(x) == 11 and x["missing"].sum() == 1  # ten decile bins and the missing bin
    assert x["share"].sum() == pytest.approx(1.0) and (x.loc[~x["missing"], "count"] == 10).all()
    assert set(prof["role"]) == {"feature", "score"}


def test_columns_only_one_run_has_are_left_out_and_largest_psi_comes_first():
    before = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0), "gone": np.arange(50.0)})
    after = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) + 25, "new": np.arange(50.0)})
    out = table(before, after)
    assert list(out["column"]) == ["b", "a"]
    assert out.loc[0, "psi"] > 0.2 and out.loc[1, "psi"] == 0
