"""`rank` at three as-ofs: how the first list did (list_quality.csv), drift, and the reason columns."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from potential.config import Config
from potential.engines.pandas_engine import PandasEngine
from potential.export.history import read_history
from potential.export.profiles import profile_as_ofs
from potential.export.targets import REASON_COLUMNS, read_targets
from potential.scoring.list_quality import QUALITY_COLUMNS
from tests.cli_helpers import cli_ok

# the data runs to mid-June 2025: of these, only the first list's 90-day horizon has passed by then
DATES = ("2025-02-01", "2025-04-01", "2025-06-01")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from tests.conftest import make_tables, write_tables

    root = tmp_path_factory.mktemp("quality")
    data = write_tables(root / "data", make_tables())
    ws = root / "ws"
    cli_ok("train", "--data", data, "--as-of", DATES[-1], "--out", ws)
    for day in DATES:
        cli_ok("rank", "--data", data, "--as-of", day, "--out", ws)
        (ws / f"run-{day}.json").write_bytes((ws / "exports" / "run.json").read_bytes())
        (ws / f"listed-{day}").write_text(str((ws / "exports" / "list_quality.csv").exists()))
    cli_ok("report", "--out", ws)
    return data, ws


def test_list_quality_scores_the_first_list_against_its_outcomes(workspace):
    data, ws = workspace
    # the first rank has no earlier list; from the second on, the first list's horizon has passed
    assert [(ws / f"listed-{d}").read_text() for d in DATES] == ["False", "True", "True"]
    first = json.loads((ws / f"run-{DATES[0]}.json").read_text())
    assert any(n.startswith("list_quality.csv: not written") for n in first["notes"])

    quality = pd.read_csv(ws / "exports" / "list_quality.csv")
    assert tuple(quality.columns) == QUALITY_COLUMNS
    assert set(quality["as_of"]) == {DATES[0]}  # 2025-04-01 + 90 days lies past the data's end
    listed = read_history(ws, DATES[0])
    whole = quality[quality["by"] == "all"].iloc[0]
    assert whole["accounts"] == len(listed)

    engine = PandasEngine(Config())
    outcomes = engine.outcomes(engine.load(data), pd.Timestamp(DATES[0]))
    seen = listed[listed["account_id"].isin(outcomes.index)]
    y = outcomes.reindex(seen["account_id"])
    assert whole["observed"] == len(seen) > 0
    assert whole["actual_churners"] == int((y["churn"] > 0).sum())
    assert whole["actual_expanders"] == int((y["expansion"] > 0).sum())
    assert whole["predicted_churners"] == pytest.approx(seen["churn_probability"].sum(), abs=1e-3)
    for by in ("tier", "action"):  # the groups split the whole list
        part = quality[quality["by"] == by]
        assert part["accounts"].sum() == whole["accounts"]
        assert part["actual_churners"].sum() == whole["actual_churners"]


def test_drift_is_measured_against_the_previous_run(workspace):
    _, ws = workspace
    assert profile_as_ofs(ws) == list(DATES)
    first = json.loads((ws / f"run-{DATES[0]}.json").read_text())
    assert first["drift"] is None
    assert any(n.startswith("drift: no earlier run") for n in first["notes"])
    last = json.loads((ws / f"run-{DATES[-1]}.json").read_text())
    drift = last["drift"]
    assert drift["previous_as_of"] == DATES[1] and drift["threshold"] == 0.2
    roles = [r["role"] for r in drift["rows"]]
    assert "priority_score" in {r["column"] for r in drift["rows"] if r["role"] == "score"}
    assert 0 < roles.count("feature") <= 10 and drift["features"] > 10
    drifted = [r["column"] for r in drift["rows"] if r["role"] == "feature" and r["drifted"]]
    noted = " ".join(n for n in last["notes"] if n.startswith("drift:"))
    assert all(f"{c} (" in noted for c in drifted)


def test_the_report_shows_list_quality_and_drift(workspace):
    _, ws = workspace
    page = (ws / "reports" / "index.html").read_text(encoding="utf-8")
    assert "How the earlier lists did" in page and f"List as of {DATES[0]}" in page
    assert f"Drift since the run of {DATES[1]}" in page


def reason_text(phrase: str, points: float, source: str, target: str) -> str:
    label = {"churn": "churn risk", "expansion": "expansion"}.get(target, target)
    return f"{phrase} ({label if source == 'model' else 'rating'} {points:+.1f} pts)"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_reason_columns_agree_with_reasons_in_every_format(workspace, fmt):
    data, ws = workspace
    out = ws.parent / f"ws-{fmt}"
    shutil.copytree(ws, out)  # the same champions: the three files hold the same list
    cli_ok("rank", "--data", data, "--as-of", DATES[-1], "--out", out, "--format", fmt)
    frame = read_targets(out / "exports" / f"targets.{fmt}")
    assert [c for c in frame.columns if c.startswith("reason_")] == list(REASON_COLUMNS)
    sources = set()
    for row in frame.to_dict("records"):
        items: list[str] = []
        for i in (1, 2, 3):
            phrase = row[f"reason_{i}"]
            if phrase == "":  # a blank slot, and every slot after it blank too
                assert np.isnan(row[f"reason_{i}_points"]) and row[f"reason_{i}_source"] == ""
                assert len(items) == i - 1 or items == []
                continue
            assert len(items) == i - 1, row["account_id"]
            source = row[f"reason_{i}_source"]
            sources.add(source)
            assert source in ("model", "rating")
            assert (row[f"reason_{i}_target"] in ("churn", "expansion")) == (source == "model")
            items.append(reason_text(phrase, row[f"reason_{i}_points"], source, row[f"reason_{i}_target"]))
        assert "; ".join(items) == row["reasons"], row["account_id"]
    assert sources == {"model", "rating"}
