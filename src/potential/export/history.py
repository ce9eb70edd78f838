"""The score history of a workspace: one partition per as-of under W/history/scores.parquet.

Every `rank` writes the whole ranked list of its as-of (not only the exported rows) as
`as_of=YYYY-MM-DD/part-0.parquet`; ranking the same as-of again replaces that partition, never adds to it.
Each partition is written to a temporary file and renamed, like every output.

Beside the scores, the history keeps what the report's "what changed" needs later (docs/design.md section 4):

- in each scores row, the same account's scores under the model versions of the previous stored list
  (`PREVIOUS_MODEL_COLUMNS`): with s(v, X) a score of model version v on features X, the change since the
  previous list s(v2, X2) - s(v1, X1) splits into the new model's part s(v2, X2) - s(v1, X2) and the new
  data's part s(v1, X2) - s(v1, X1);
- W/history/explanations.parquet/as_of=YYYY-MM-DD/: the SHAP contributions of the exported accounts, so a
  later report can say which drivers moved;
- W/history/outcomes.parquet/as_of=YYYY-MM-DD/: what happened over the horizon after that list, once known.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from potential.data.io import atomic_path

SPLIT_SCORES = ("expansion_probability", "churn_probability", "priority_score")
PREVIOUS_MODEL_COLUMNS = (
    "previous_as_of",
    "previous_model_version",
    *(f"{score}_previous_model" for score in SPLIT_SCORES),
    "previous_model_note",
)
HISTORY_COLUMNS = (
    "as_of",
    "account_id",
    "account_name",
    "model_version",
    "churn_probability",
    "expansion_probability",
    "expected_uplift",
    "revenue_at_risk",
    "rating_score",
    "priority_score",
    "rank",
    "tier",
    "action",
    "reasons",
    *PREVIOUS_MODEL_COLUMNS,
)
EXPLANATION_COLUMNS = ("account_id", "target", "feature", "value", "contribution")
OUTCOME_COLUMNS = ("account_id", "churn", "expansion", "horizon_days")


@dataclass(frozen=True)
class PreviousModel:
    """The current features scored with the model versions of the previous stored list: s(v1, X2).

    `scores` holds account_id and SPLIT_SCORES (the current scores themselves when the versions did not
    change); None when those versions could not be loaded or applied, and `note` says why.
    """

    as_of: str
    model_version: str
    scores: pd.DataFrame | None
    note: str = ""


def history_folder(workspace: Path) -> Path:
    return Path(workspace) / "history" / "scores.parquet"


def explanations_folder(workspace: Path) -> Path:
    return Path(workspace) / "history" / "explanations.parquet"


def outcomes_folder(workspace: Path) -> Path:
    return Path(workspace) / "history" / "outcomes.parquet"


def _partition(folder: Path, as_of: str) -> Path:
    return folder / f"as_of={as_of}" / "part-0.parquet"


def _write_partition(frame: pd.DataFrame, folder: Path, as_of: str) -> Path:
    path = _partition(folder, as_of)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def _as_ofs(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        p.name.removeprefix("as_of=") for p in folder.glob("as_of=*") if (p / "part-0.parquet").exists()
    )


def _read(folder: Path, dates: list[str], accounts: Collection[str] | None) -> list[pd.DataFrame]:
    wanted = None if accounts is None else [("account_id", "in", sorted(map(str, accounts)))]
    return [
        pd.read_parquet(_partition(folder, d), filters=wanted)
        for d in dates
        if _partition(folder, d).exists() and (wanted is None or wanted[0][2])
    ]


def model_versions(label: str) -> dict[str, str]:
    """The versions in a list's model_version label: 'churn:v3;expansion:v2' -> {'churn': '3', 'expansion': '2'}.

    'rating-only' (no model) and an empty label give {}.
    """
    out: dict[str, str] = {}
    for part in str(label).split(";"):
        target, sep, version = part.strip().partition(":")
        if sep and target:
            out[target] = version.strip().removeprefix("v")
    return out


def write_history(ranked: pd.DataFrame, workspace: Path, previous: PreviousModel | None = None) -> Path:
    """Store the ranked list of its as-of (replacing an earlier one of the same as-of); the partition path.

    `previous`: the same accounts scored with the models of the previous stored list (PREVIOUS_MODEL_COLUMNS
    stay blank when there is no previous list).
    """
    as_of = str(ranked["as_of"].iloc[0]) if len(ranked) else ""
    frame = ranked[[c for c in HISTORY_COLUMNS if c in ranked.columns]].reset_index(drop=True)
    frame["previous_as_of"] = previous.as_of if previous is not None else ""
    frame["previous_model_version"] = previous.model_version if previous is not None else ""
    frame["previous_model_note"] = previous.note if previous is not None else ""
    under = (
        previous.scores.drop_duplicates("account_id").set_index(previous.scores["account_id"].astype(str))
        if previous is not None and previous.scores is not None
        else None
    )
    ids = frame["account_id"].astype(str)
    for score in SPLIT_SCORES:
        column = f"{score}_previous_model"
        if under is not None and score in under.columns:
            frame[column] = pd.to_numeric(ids.map(under[score]), errors="coerce").to_numpy(dtype=float)
        else:
            frame[column] = np.nan
    return _write_partition(frame, history_folder(workspace), as_of)


def history_as_ofs(workspace: Path) -> list[str]:
    """The as-of dates in the history, oldest first."""
    return _as_ofs(history_folder(workspace))


def read_history(
    workspace: Path, as_of: str | None = None, accounts: Collection[str] | None = None
) -> pd.DataFrame:
    """Every stored list (or the one of `as_of`), one row per account and as-of; only `accounts` if given."""
    dates = [as_of] if as_of is not None else history_as_ofs(workspace)
    parts = _read(history_folder(workspace), dates, accounts)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(HISTORY_COLUMNS))


def write_history_explanations(explanations: pd.DataFrame, workspace: Path, as_of: str) -> Path:
    """Keep the contributions of a list (long: EXPLANATION_COLUMNS) beside its scores."""
    frame = pd.DataFrame(
        {
            c: explanations[c] if c in explanations.columns else pd.Series(np.nan, index=explanations.index)
            for c in EXPLANATION_COLUMNS
        }
    ).reset_index(drop=True)
    frame["account_id"] = frame["account_id"].astype(str)
    for column in ("value", "contribution"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return _write_partition(frame, explanations_folder(workspace), as_of)


def read_history_explanations(
    workspace: Path, as_of: str, accounts: Collection[str] | None = None
) -> pd.DataFrame:
    """The contributions stored with the list of `as_of` (empty when that rank kept none)."""
    parts = _read(explanations_folder(workspace), [as_of], accounts)
    return parts[0] if parts else pd.DataFrame(columns=list(EXPLANATION_COLUMNS))


def write_outcomes(outcomes: pd.DataFrame, workspace: Path, as_of: str, horizon_days: int) -> Path:
    """What happened over the horizon after the list of `as_of` (index account_id; churn, expansion 0/1)."""
    frame = pd.DataFrame(
        {
            "account_id": outcomes.index.astype(str),
            **{
                c: pd.to_numeric(outcomes[c], errors="coerce").to_numpy(dtype=float)
                if c in outcomes.columns
                else np.full(len(outcomes), np.nan)
                for c in ("churn", "expansion")
            },
            "horizon_days": int(horizon_days),
        }
    )
    return _write_partition(frame[list(OUTCOME_COLUMNS)], outcomes_folder(workspace), as_of)


def outcome_as_ofs(workspace: Path) -> list[str]:
    """The as-ofs whose outcomes are stored, oldest first."""
    return _as_ofs(outcomes_folder(workspace))


def read_outcomes(workspace: Path, as_of: str) -> pd.DataFrame:
    parts = _read(outcomes_folder(workspace), [as_of], None)
    return parts[0] if parts else pd.DataFrame(columns=list(OUTCOME_COLUMNS))


def previous_as_of(workspace: Path, as_of: str) -> str | None:
    """The latest stored as-of before `as_of`, if any."""
    earlier = [d for d in history_as_ofs(workspace) if d < as_of]
    return earlier[-1] if earlier else None
