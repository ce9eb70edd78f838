"""End to end on a small synthetic portfolio: demo, rank formats and filters, determinism, report contract."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.export.targets import TARGET_COLUMNS
from tests.cli_helpers import run_cli, tree_digest

AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo run shared by the module (small, seeded)."""
    import contextlib
    from io import StringIO

    root = tmp_path_factory.mktemp("demo")
    from potential.app.cli import main

    out, err = StringIO(), StringIO()
    old_argv = sys.argv
    sys.argv = ["potential", "demo", "--out", str(root), "--accounts", "600", "--seed", "7"]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = old_argv
    assert code in (0, None), out.getvalue() + err.getvalue()
    return root, out.getvalue()


def targets(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "exports" / "targets.csv", dtype={"account_id": str})


def test_demo_outputs_contract(demo):
    root, out = demo
    frame = targets(root)
    assert tuple(frame.columns[: len(TARGET_COLUMNS)]) == TARGET_COLUMNS
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert frame["account_id"].is_unique
    accounts = pd.read_csv(root / "data" / "accounts.csv", dtype={"account_id": str})
    assert set(frame["account_id"]) <= set(accounts["account_id"])
    assert len(frame) >= 0.9 * len(accounts)
    for column in ("churn_probability", "expansion_probability"):
        values = frame[column].dropna()
        assert len(values) > 0.8 * len(frame)
        assert values.between(0, 1).all()
        assert values.nunique() > 10  # real scores, not constants
    assert set(frame["tier"]) == {"A", "B", "C"}
    assert set(frame["action"]) <= {"Grow", "Save", "Nurture", "Maintain"}
    assert frame["rating_grade"].isin(list("ABCD")).all()
    assert (frame["as_of"] == AS_OF).all()
    assert frame["model_version"].str.contains("churn:v1").all()
    assert frame["reasons"].fillna("").str.len().gt(0).mean() > 0.9
    # a Save account leads with why it may leave, a Grow account with why it may grow
    led = frame["reason_1_source"] == "model"
    assert (frame.loc[led & (frame["action"] == "Save"), "reason_1_target"] == "churn").all()
    assert (frame.loc[led & (frame["action"] == "Grow"), "reason_1_target"] == "expansion").all()
    assert not [c for c in frame.columns if c.startswith("grow:")]
    assert (root / "reports" / "index.html").exists()
    assert (root / "models" / "mlflow.db").exists()
    assert "ranked" in out and "tiers" in out
    manifest = json.loads((root / "exports" / "manifest.json").read_text())
    assert manifest["rows"] == len(frame) and manifest["model_versions"]["churn"] == "1"


def test_explanations_add_up_to_probabilities(demo):
    root, _ = demo
    frame = targets(root).set_index("account_id")
    long = pd.read_parquet(root / "exports" / "explanations.parquet")
    assert list(long.columns[:7]) == [
        "account_id",
        "target",
        "feature",
        "value",
        "value_text",
        "contribution",
        "base",
    ]
    sums = (
        long.groupby(["account_id", "target"])["contribution"].sum()
        + long.groupby(["account_id", "target"])["base"].first()
    )
    for (account, target), total in sums.items():
        assert abs(total - frame.loc[account, f"{target}_probability"]) < 1e-6


def test_top_accounts_have_pages_with_their_numbers(demo):
    root, _ = demo
    frame = targets(root)
    from potential.reports import account_filename

    for row in frame.head(10).itertuples():
        page = root / "reports" / "accounts" / account_filename(row.account_id)
        text = page.read_text(encoding="utf-8")
        assert row.account_id in text
        assert not re.search(r"\b(nan|NaN|None|NaT|inf)\b", text)
        if row.churn_probability == row.churn_probability:  # prospects have no churn probability
            assert f"{row.churn_probability:.0%}" in text or f"{row.churn_probability * 100:.1f}" in text
        else:
            assert "prospect" in text.lower()


def test_rank_formats_filters_and_determinism(demo, capsys, tmp_path):
    root, _ = demo
    data = root / "data"
    first = (root / "exports" / "targets.csv").read_bytes()
    expl = (root / "exports" / "explanations.parquet").read_bytes()
    code, out, err = run_cli(["rank", "--data", data, "--as-of", AS_OF, "--out", root], capsys)
    assert code == 0, err
    assert (root / "exports" / "targets.csv").read_bytes() == first
    assert (root / "exports" / "explanations.parquet").read_bytes() == expl
    for fmt in ("xlsx", "parquet"):
        code, _, err = run_cli(
            ["rank", "--data", data, "--as-of", AS_OF, "--out", root, "--format", fmt], capsys
        )
        assert code == 0, err
    csv_ids = targets(root)["account_id"].tolist()
    assert pd.read_parquet(root / "exports" / "targets.parquet")["account_id"].tolist() == csv_ids
    xlsx = pd.read_excel(root / "exports" / "targets.xlsx", sheet_name="targets", dtype={"account_id": str})
    assert xlsx["account_id"].tolist() == csv_ids
    previous = tmp_path / "previous.csv"
    shutil.copy(root / "exports" / "targets.csv", previous)
    ws = tmp_path / "ws"
    shutil.copytree(root / "models", ws / "models")
    code, _, err = run_cli(
        [
            "rank",
            "--data",
            data,
            "--as-of",
            AS_OF,
            "--out",
            ws,
            "--top",
            "15",
            "--tier",
            "A",
            "--action",
            "Save",
            "--action",
            "Grow",
            "--since",
            previous,
        ],
        capsys,
    )
    assert code == 0, err
    filtered = targets(ws)
    assert 0 < len(filtered) <= 15
    assert (
        len(filtered) <= 15 and set(filtered["tier"]) <= {"A"} and set(filtered["action"]) <= {"Save", "Grow"}
    )
    assert {"rank_delta", "new_entrant", "tier_change"} <= set(filtered.columns)
    assert (filtered["rank_delta"] == 0).all() and not filtered["new_entrant"].any()


def test_compare_and_features_commands(demo, capsys, tmp_path):
    root, _ = demo
    code, out, err = run_cli(["compare", "--out", root, "--format", "csv", "--sort", "roc_auc"], capsys)
    assert code == 0, err
    board = pd.read_csv(pd.io.common.StringIO(out))
    assert {"lightgbm+logistic", "logistic", "rfm_rule"} <= set(board["model"])
    assert board["champion"].any()
    code, out, err = run_cli(
        ["features", "--data", root / "data", "--as-of", AS_OF, "--out", tmp_path / "f.parquet", "--audit"],
        capsys,
    )
    assert code == 0, err
    features = pd.read_parquet(tmp_path / "f.parquet")
    assert "account_id" in features.columns and features["account_id"].is_unique
    assert "no feature changes" in out


def test_lightgbm_beats_baselines_and_is_checked_against_true_events(demo):
    """On the synthetic book the model must add something over the naive baselines (printed by the demo)."""
    root, out = demo
    from potential.config import Config
    from potential.tracking.store import Tracker

    board = Tracker(root, Config()).leaderboard()
    for target in ("churn", "expansion"):
        rows = board[board["target"] == target].set_index("model")
        assert rows.loc["lightgbm+logistic", "roc_auc"] > rows.loc["rfm_rule", "roc_auc"]
    assert re.search(
        r"against the generator's true churn events \(\d+ in the test slice\): ROC-AUC 0\.\d{3}", out
    )


def test_input_never_modified(demo, capsys):
    root, _ = demo
    before = tree_digest(root / "data")
    code, _, err = run_cli(["rank", "--data", root / "data", "--as-of", AS_OF, "--out", root], capsys)
    assert code == 0, err
    assert tree_digest(root / "data") == before
    assert not list(root.rglob("*.tmp"))


def test_report_numbers_match_targets_row(demo):
    root, _ = demo
    row = targets(root).iloc[0]
    from potential.reports import account_filename

    text = (root / "reports" / "accounts" / account_filename(row["account_id"])).read_text(encoding="utf-8")
    assert str(row["account_name"]).split(",")[0].replace("&", "&amp;").replace("'", "&#39;")[:10] in text
    assert row["tier"] in text and row["action"] in text
    assert np.isfinite(row["priority_score"])
