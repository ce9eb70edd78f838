"""A hand-built workspace history for the report fixture: three stored lists, a model change, outcomes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from potential.reports import ReportInput

from .conftest import AS_OF, build_report_input

DATES = ("2026-02-01", "2026-05-01", AS_OF)
OLD_MODELS = "churn:v2;expansion:v2"
NEW_ACCOUNT = "C003"  # on the current list only
SCORES = ("expansion_probability", "churn_probability", "priority_score")


def history_rows(targets: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """The three stored lists behind `targets` (the current list): the current one with the scores under the
    previous models, and two earlier ones scored by OLD_MODELS."""
    rng = np.random.default_rng(seed)
    current = targets.copy()
    n = len(current)
    current["previous_as_of"] = DATES[1]
    current["previous_model_version"] = OLD_MODELS
    current["previous_model_note"] = ""
    for score in SCORES:
        shift = rng.normal(0, 0.05 if score != "priority_score" else 500, n)
        current[f"{score}_previous_model"] = (current[score] - shift).round(6)
    lists = [current]
    for step, day in enumerate(reversed(DATES[:2]), start=1):
        earlier = current[[c for c in current.columns if not c.endswith("_previous_model")]].copy()
        earlier["as_of"] = day
        earlier["model_version"] = OLD_MODELS
        for score in SCORES:
            spread = 0.04 if score != "priority_score" else 400
            earlier[score] = (current[score] - rng.normal(0, spread, n) * step).round(6)
        earlier["expansion_probability"] = earlier["expansion_probability"].clip(0, 1)
        earlier["churn_probability"] = earlier["churn_probability"].clip(0, 1)
        earlier["priority_score"] = earlier["priority_score"].abs()
        order = earlier["priority_score"].rank(ascending=False, method="first").astype(int)
        earlier["rank"] = order
        earlier["tier"] = np.where(order <= 3, "A", np.where(order <= 7, "B", "C"))
        earlier["action"] = np.where(np.arange(n) % 3 == 0, "Save", "Maintain")
        earlier = earlier[earlier["account_id"] != NEW_ACCOUNT]
        for column in ("previous_as_of", "previous_model_version", "previous_model_note"):
            earlier[column] = ""
        lists.append(earlier)
    return pd.concat(lists[::-1], ignore_index=True)


def with_memory(data: ReportInput | None = None, *, one_list: bool = False) -> ReportInput:
    """`data` (default: the report fixture) with a history of three lists (or only the current one),
    the previous list's contributions, segments and the first list's outcomes."""
    data = data or build_report_input()
    history = history_rows(data.targets)
    if one_list:
        history = history[history["as_of"] == AS_OF].assign(previous_as_of="", previous_model_version="")
        return dataclasses.replace(data, score_history=history, previous=None)
    previous = history[history["as_of"] == DATES[1]].reset_index(drop=True)
    before = data.explanations.copy()
    moved = before["feature"] == "f01"
    before.loc[moved, "contribution"] = before.loc[moved, "contribution"] - 0.08
    ids = data.targets["account_id"].astype(str)
    segments = pd.DataFrame(
        {
            "account_id": ids,
            "industry": data.targets["industry"].to_numpy(),
            "region": np.where(np.arange(len(ids)) % 2 == 0, "north", "south"),
            "size_band": np.where(np.arange(len(ids)) % 3 == 0, "", "large"),
        }
    )
    first = history[history["as_of"] == DATES[0]]
    outcomes = first[["account_id", "churn_probability", "expansion_probability"]].assign(
        churn=(np.arange(len(first)) % 3 == 0).astype(float),
        expansion=(np.arange(len(first)) % 4 == 1).astype(float),
        as_of=DATES[0],
        horizon_days=90,
    )
    return dataclasses.replace(
        data,
        score_history=history,
        previous=previous,
        previous_explanations=before[["account_id", "target", "feature", "value", "contribution"]],
        segments=segments,
        segment_columns=("industry", "region", "size_band"),
        outcomes=outcomes.reset_index(drop=True),
    )
