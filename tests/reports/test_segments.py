"""The portfolio by segment: rows that add up to the totals, folding, model quality, refusing unknown columns."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from potential.errors import ConfigError
from potential.reports import format as fmt
from potential.reports import segments, write_reports

from .memory_input import DATES, with_memory
from .test_reports import visible

TIERS, ACTIONS = ("A", "B", "C"), ("Save", "Grow", "Nurture", "Maintain")


def _targets() -> pd.DataFrame:
    """Five accounts with known tiers, actions and money."""
    return pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "tier": ["A", "B", "C", "C", "B"],
            "action": ["Save", "Grow", "Maintain", "Save", "Nurture"],
            "priority_score": [500.0, 300.0, 50.0, 100.0, 50.0],
            "churn_probability": [0.5, 0.1, 0.2, np.nan, 0.4],
            "revenue_at_risk": [1000.0, 2000.0, 100.0, 500.0, np.nan],
            "expansion_probability": [0.1, 0.6, 0.0, 0.2, 0.3],
            "expected_uplift": [100.0, 500.0, 0.0, 50.0, 10.0],
            "industry": ["retail", "energy", "retail", None, " "],
        }
    )


def test_breakdown_knows_its_answer_and_adds_up_to_the_portfolio():
    table = segments.breakdown(_targets(), "industry", TIERS, ACTIONS)
    assert list(table.index) == ["retail", "energy", segments.BLANK]  # most priority first
    retail = table.loc["retail"]
    assert retail["accounts"] == 2 and retail["tier_A"] == 1 and retail["tier_C"] == 1
    assert retail["action_Save"] == 1 and retail["action_Maintain"] == 1
    assert retail["saving_value"] == pytest.approx(0.5 * 1000 + 0.2 * 100)
    assert retail["growing_value"] == pytest.approx(0.1 * 100)
    blank = table.loc[segments.BLANK]  # a missing and a blank industry: one '(blank)' row
    assert blank["accounts"] == 2 and blank["priority"] == pytest.approx(150.0)
    assert blank["saving_value"] == pytest.approx(0.0)  # no churn probability / no revenue at risk
    totals = table.sum()
    assert totals["accounts"] == 5 and totals["priority"] == pytest.approx(1000.0)
    assert [totals[f"tier_{t}"] for t in TIERS] == [1, 2, 2]
    assert [totals[f"action_{a}"] for a in ACTIONS] == [2, 1, 1, 1]


def test_many_segments_fold_into_one_row_that_keeps_the_sums():
    n = 40
    targets = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "tier": ["A"] * 8 + ["B"] * 12 + ["C"] * 20,
            "action": ["Maintain"] * n,
            "priority_score": np.linspace(1000, 10, n),
            "city": [f"city {i % 20:02d}" for i in range(n)],
        }
    )
    table = segments.breakdown(targets, "city", TIERS, ACTIONS, limit=5)
    assert len(table) == 5 and table.index[-1] == "16 other values"
    assert table["accounts"].sum() == n and table["priority"].sum() == pytest.approx(
        targets["priority_score"].sum()
    )
    labels = segments.fold(
        segments.segment_labels(targets.set_index("account_id")["city"]), list(table.index)
    )
    assert labels.value_counts()["16 other values"] == table.loc["16 other values", "accounts"]


def test_quality_per_segment_against_what_happened():
    scored = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "churn_probability": [0.9, 0.2, 0.6, 0.1, 0.8, 0.3],
            "expansion_probability": [0.1, 0.1, 0.1, 0.1, 0.1, np.nan],
            "churn": [1.0, 0.0, 0.0, 0.0, 1.0, np.nan],  # a6 has no outcome
            "expansion": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    labels = pd.Series(["x", "x", "y", "y", "y", "x"], index=scored["account_id"])
    grades = segments.quality(scored, labels, ["x", "y"])
    assert grades.loc["x", "churn_observed"] == 2 and grades.loc["x", "churn_actual"] == 1
    assert grades.loc["x", "churn_predicted"] == pytest.approx(1.1)
    assert grades.loc["x", "churn_roc_auc"] == pytest.approx(1.0)
    assert grades.loc["y", "churn_roc_auc"] == pytest.approx(1.0)  # 0.8 churned, 0.6 and 0.1 did not
    whole = grades.loc[segments.TOTAL]
    assert whole["churn_observed"] == 5 and whole["churn_actual"] == 2
    assert whole["churn_roc_auc"] == pytest.approx(1.0)
    assert np.isnan(whole["expansion_roc_auc"])  # nobody expanded: no ROC-AUC, not a made-up 0.5
    assert whole["expansion_actual"] == 0 and whole["expansion_observed"] == 5


def test_named_segments_must_exist_and_the_message_lists_the_columns():
    columns = ["account_id", "industry", "region", "employees"]
    assert segments.resolve_segments(None, columns, "the accounts table", "fix it.") == ("industry", "region")
    assert segments.resolve_segments(None, ["account_id", "employees"], "x", "y") == ()
    assert segments.resolve_segments(("employees",), columns, "x", "y") == ("employees",)
    with pytest.raises(ConfigError, match=r"report\.segments names 'size_band'") as exc:
        segments.resolve_segments(("industry", "size_band"), columns, "the accounts table", "fix it.")
    assert "it has: industry, region, employees" in str(exc.value) and "account_id" not in str(exc.value)


def test_segment_frame_keeps_one_row_per_ranked_account():
    accounts = pd.DataFrame({"account_id": ["a1", "a2", "a2"], "industry": ["retail", None, "energy"]})
    frame = segments.segment_frame(accounts, ["a2", "a1", "zz"], ["industry"])
    assert frame["account_id"].tolist() == ["a2", "a1", "zz"]
    assert frame["industry"].tolist() == [segments.BLANK, "retail", segments.BLANK]


# ------------------------------------------------------------------------------------------------ on the page
def _table(html: str, column: str) -> list[list[str]]:
    section = html[html.index(f'data-segment="{column}"') :]
    body = section[section.index("<tbody>") : section.index("</tbody>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.DOTALL)]
        for r in rows
    ]


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def test_index_breaks_the_portfolio_down_by_each_segment(tmp_path):
    data = with_memory()
    write_reports(data, tmp_path)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    text = visible(tmp_path / "index.html")
    assert "By industry" in text and "By region" in text and "By size band" in text
    targets = data.targets
    n = len(targets)
    for column in ("industry", "region", "size_band"):
        rows = _table(html, column)
        body, total = rows[:-1], rows[-1]
        assert total[0] == "All accounts" and _count(total[1]) == n
        assert sum(_count(r[1]) for r in body) == n
        tiers = sorted(targets["tier"].unique())
        for i, tier in enumerate(tiers, start=2):  # tier columns follow the account count
            assert sum(_count(r[i]) for r in body) == _count(total[i]) == (targets["tier"] == tier).sum()
        first_action = 2 + len(tiers)
        for j, action in enumerate(("Save", "Grow", "Nurture", "Maintain")):
            cells = [_count(r[first_action + j]) for r in body]
            assert sum(cells) == _count(total[first_action + j]) == (targets["action"] == action).sum()
        saving = (targets["churn_probability"].fillna(0) * targets["revenue_at_risk"].fillna(0)).sum()
        assert total[first_action + 4] == fmt.money(saving, "€")
    assert "(blank)" in text  # size_band is blank for every third account
    assert "<i>energy</i>" not in html and "&lt;i&gt;energy&lt;/i&gt;" in html


def test_model_quality_columns_only_where_outcomes_exist(tmp_path):
    data = with_memory()
    write_reports(data, tmp_path / "with")
    text = visible(tmp_path / "with" / "index.html")
    assert f"Churn, list of {DATES[0]}" in text and "ROC-AUC" in text
    assert f"the list of {DATES[0]} set against what happened in the 90 days after it" in text
    import dataclasses

    write_reports(dataclasses.replace(data, outcomes=None), tmp_path / "without")
    text = visible(tmp_path / "without" / "index.html")
    assert "Churn, list of" not in text and "appears once a stored list's horizon has passed" in text
