"""The report's memory through the real commands: a workspace ranked at three as-ofs, with a new model before
the third, reported after the first and the last rank."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from potential.config import load_config
from potential.engines.pandas_engine import PandasEngine
from potential.export.history import SPLIT_SCORES, read_history, read_history_explanations
from potential.export.targets import read_targets
from potential.reports import account_filename
from potential.reports import format as fmt
from potential.tracking.store import Tracker
from tests.cli_helpers import cli_ok, run_cli

# the data runs to mid-June 2025: by then the first list's 90-day horizon has passed, the others' not
DATES = ("2025-02-01", "2025-04-01", "2025-06-01")
# small and quick: few cutoffs, few trees, no parameter search — the models only have to exist and differ
FAST = {
    "time": {"max_cutoffs": 6},
    "training": {
        "validation_cutoffs": 1,
        "min_positives": 10,
        "early_stopping_rounds": 10,
        "lightgbm": {"n_estimators": 40, "learning_rate": 0.1},
        "tuning": {"enabled": False},
    },
    "report": {"segments": ["industry", "culture_fit"], "top_k": 15},
}


def text_of(page: Path) -> str:
    html = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&amp;", "&").replace("&#39;", "'").split())


def promote_newest(ws: Path, config_path: Path) -> list[str]:
    """Make the newest version of each model champion (the gate may have kept the old one)."""
    versions = Tracker(ws, load_config(config_path)).versions()
    promoted = []
    for target in ("churn", "expansion"):
        mine = versions[versions["target"] == target]
        newest = str(mine["version"].astype(int).max())
        if newest != "1":
            cli_ok("promote", target, newest, "--out", ws, "--config", config_path)
            promoted.append(target)
    return promoted


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from tests.conftest import make_tables, write_tables

    root = tmp_path_factory.mktemp("memory")
    data = write_tables(root / "data", make_tables())
    config = root / "fast.yaml"
    config.write_text(yaml.safe_dump(FAST))
    ws = root / "ws"
    common = ("--out", ws, "--config", config)
    cli_ok("train", "--data", data, "--as-of", DATES[0], *common)
    cli_ok("rank", "--data", data, "--as-of", DATES[0], *common)
    cli_ok("report", *common)
    shutil.copytree(ws / "reports", root / "reports-first")
    cli_ok("rank", "--data", data, "--as-of", DATES[1], *common)
    cli_ok("train", "--data", data, "--as-of", DATES[2], *common)
    changed = promote_newest(ws, config)
    cli_ok("rank", "--data", data, "--as-of", DATES[2], *common)
    cli_ok("report", *common)
    return data, ws, config, root, changed


def test_history_keeps_the_scores_under_the_previous_models(workspace):
    data, ws, config, _, changed = workspace
    assert changed, "the second training should have given a new champion"
    first, second, third = (read_history(ws, d).set_index("account_id") for d in DATES)
    assert set(first["previous_as_of"]) == {""} and first["churn_probability_previous_model"].isna().all()
    # same models on the second list: s(v1, X2) is the score itself, so the model's part is zero
    assert set(second["previous_as_of"]) == {DATES[0]}
    assert (second["model_version"] == first["model_version"].iloc[0]).all()
    for score in SPLIT_SCORES:
        pd.testing.assert_series_equal(
            second[f"{score}_previous_model"], second[score], check_names=False, check_dtype=False
        )
    # new models on the third: s(v1, X3) is the old champion applied to the third as-of's features
    assert set(third["previous_model_version"]) == {second["model_version"].iloc[0]}
    old = Tracker(ws, load_config(config)).load_version("churn", "1")
    engine = PandasEngine(load_config(config))
    feats = engine.features(engine.load(data), pd.Timestamp(DATES[2]))
    expected = pd.Series(old.predict(feats), index=feats.index.astype(str)).round(6)
    stored = third["churn_probability_previous_model"].dropna()
    assert len(stored) > 0.5 * len(third)
    np.testing.assert_allclose(stored.to_numpy(), expected.reindex(stored.index).to_numpy(), atol=1e-9)
    model_part = third["churn_probability"] - third["churn_probability_previous_model"]
    data_part = third["churn_probability_previous_model"] - second["churn_probability"].reindex(third.index)
    total = third["churn_probability"] - second["churn_probability"].reindex(third.index)
    both = total.notna() & model_part.notna()
    assert ((model_part + data_part - total)[both].abs() < 1e-9).all()
    assert (model_part[both].abs() > 1e-6).any()
    assert len(read_history_explanations(ws, DATES[1])) > 0


def test_previous_model_scores_are_what_a_full_scoring_with_those_models_gives(workspace):
    """The split's middle term skips TreeSHAP but keeps every number: the old champions' probabilities,
    expected uplift and priority equal those of a whole `score` + `rank_accounts` with the old models."""
    from potential.export.history import model_versions
    from potential.scoring.ranking import rank_accounts
    from potential.scoring.rating import load_profile
    from potential.tracking.store import Champion

    data, ws, config_path, _, _ = workspace
    config = load_config(config_path)
    third = read_history(ws, DATES[2]).set_index("account_id")
    label = str(third["previous_model_version"].iloc[0])
    tracker = Tracker(ws, config)
    old = {
        target: Champion(target, tracker.load_version(target, version), version, "", {})
        for target, version in model_versions(label).items()
    }
    engine = PandasEngine(config)
    scored = engine.score(
        engine.load(data), pd.Timestamp(DATES[2]), old, load_profile(config.rating_profile_path())
    )
    expected = rank_accounts(scored.table, config.ranking).set_index("account_id")
    for score in SPLIT_SCORES:
        want = expected[score].round(6).reindex(third.index)
        pd.testing.assert_series_equal(
            third[f"{score}_previous_model"], want, check_names=False, check_dtype=False, rtol=0, atol=1e-12
        )


def test_first_report_says_there_is_no_earlier_list(workspace):
    _, _, _, root, _ = workspace
    page = sorted((root / "reports-first" / "accounts").glob("*.html"))[0]
    text = text_of(page)
    assert "there is no earlier list to compare with" in text and "Score history" in text
    assert "This is the first list in this workspace's history" in text_of(
        root / "reports-first" / "index.html"
    )


def test_account_page_shows_three_points_and_the_split(workspace):
    _, ws, _, _, _ = workspace
    now, before = (read_history(ws, d).set_index("account_id") for d in (DATES[2], DATES[1]))
    account = str(read_targets(ws / "exports" / "targets.csv")["account_id"].iloc[0])
    page = ws / "reports" / "accounts" / account_filename(account)
    html = page.read_text(encoding="utf-8")
    chart = re.search(r'<svg[^>]*aria-label="Score history.*?</svg>', html, re.DOTALL)
    assert chart is not None
    assert re.findall(r"<title>(\d{4}-\d{2}-\d{2}):", chart.group(0)) == list(DATES)
    text = text_of(page)
    assert f"What changed since {DATES[1]}" in text and "The models changed" in text
    row, then = now.loc[account], before.loc[account]
    model = row["churn_probability"] - row["churn_probability_previous_model"]
    data_part = row["churn_probability_previous_model"] - then["churn_probability"]
    assert f"new model {fmt.points(model)} · new data {fmt.points(data_part)}" in text


def test_index_lists_match_the_history(workspace):
    _, ws, _, _, _ = workspace
    now, before = (read_history(ws, d).set_index("account_id") for d in (DATES[2], DATES[1]))
    was = before.reindex(now.index)
    ordered = now.sort_values("rank").index
    html = (ws / "reports" / "index.html").read_text(encoding="utf-8")

    def listed(box: str) -> list[str]:
        part = html[html.index(f'id="{box}"') :]
        return re.findall(r'data-account="([^"]+)"', part[: part.index("</div>")])

    new_tier = [a for a in ordered if now.at[a, "tier"] == "A" and was.at[a, "tier"] != "A"]
    new_save = [a for a in ordered if now.at[a, "action"] == "Save" and was.at[a, "action"] != "Save"]
    delta = (now["priority_score"] - was["priority_score"]).dropna()
    movers = sorted(delta[delta != 0].index, key=lambda a: (-abs(delta[a]), a))
    assert listed("new-tier") == new_tier[:15]
    assert listed("newly-save") == new_save[:15]
    assert listed("largest-movers") == movers[:10] and movers
    pages = {p.name for p in (ws / "reports" / "accounts").iterdir()}
    for href in re.findall(r'href="accounts/([^"]+)"', html):
        assert href in pages


def test_segments_add_up_to_the_portfolio(workspace):
    _, ws, _, _, _ = workspace
    targets = read_targets(ws / "exports" / "targets.csv")
    html = (ws / "reports" / "index.html").read_text(encoding="utf-8")
    for column in ("industry", "culture_fit"):
        part = html[html.index(f'data-segment="{column}"') :]
        body = part[part.index("<tbody>") : part.index("</tbody>")]
        rows = [
            [
                re.sub(r"<[^>]+>", "", c).strip().replace(",", "")
                for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.DOTALL)
            ]
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
        ]
        segments, total = rows[:-1], rows[-1]
        assert int(total[1]) == len(targets) == sum(int(r[1]) for r in segments)
        tiers = sorted(targets["tier"].unique())
        for i, tier in enumerate(tiers, start=2):
            assert sum(int(r[i]) for r in segments) == int(total[i]) == int((targets["tier"] == tier).sum())
    assert "Churn, list of 2025-02-01" in text_of(ws / "reports" / "index.html")  # its horizon has passed


def test_a_segment_the_accounts_lack_is_refused(workspace, tmp_path, capsys):
    data, ws, _, _, _ = workspace
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**FAST, "report": {"segments": ["industry", "size_band"]}}))
    before = (ws / "exports" / "targets.csv").read_bytes()
    code, _, err = run_cli(
        ["rank", "--data", data, "--as-of", DATES[2], "--out", ws, "--config", bad], capsys
    )
    assert code == 2
    assert "report.segments names 'size_band'" in err and "industry" in err and "culture_fit" in err
    assert (ws / "exports" / "targets.csv").read_bytes() == before  # refused before anything was written
    code, _, err = run_cli(["report", "--out", ws, "--config", bad], capsys)
    assert code == 2 and "report.segments names 'size_band'" in err


def test_previous_models_that_cannot_be_loaded_leave_a_note_not_a_failure(tmp_path):
    from potential.app.pipeline import Pipeline
    from potential.config import Config
    from potential.errors import PotentialError
    from potential.export.history import write_history

    class Gone:
        def load_version(self, target: str, version: str):
            raise PotentialError(f"registered model potential-{target} has no version {version}")

    class Champ:
        def __init__(self, version: str) -> None:
            self.version = version

    earlier = pd.DataFrame(
        {
            "as_of": DATES[0],
            "account_id": ["a1", "a2"],
            "model_version": "churn:v1;expansion:v1",
            "churn_probability": [0.2, 0.3],
            "expansion_probability": [0.1, 0.2],
            "priority_score": [10.0, 20.0],
        }
    )
    write_history(earlier, tmp_path)
    ranked = earlier.assign(as_of=DATES[1], model_version="churn:v2;expansion:v1")
    config = Config()
    notes: list[str] = []
    previous = Pipeline(PandasEngine(config), config)._under_previous_models(
        None,  # type: ignore[arg-type]  # features and scores: never reached, loading the old
        None,  # type: ignore[arg-type]  # churn model fails first
        pd.Timestamp(DATES[1]),
        Gone(),
        {"churn": Champ("2"), "expansion": Champ("1")},
        ranked,
        tmp_path,
        notes,
    )
    assert previous is not None and previous.scores is None and previous.as_of == DATES[0]
    assert "could not be loaded" in previous.note and "potential-churn has no version 1" in previous.note
    assert notes and notes[0].startswith("what changed:")
    write_history(ranked, tmp_path, previous)
    stored = read_history(tmp_path, DATES[1])
    assert set(stored["previous_model_note"]) == {previous.note}
    assert stored["churn_probability_previous_model"].isna().all()
