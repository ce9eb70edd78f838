"""The score history of a workspace: one partition per as-of under W/history/scores.parquet.

Every `rank` writes the whole ranked list of its as-of (not only the exported rows) as
`as_of=YYYY-MM-DD/part-0.parquet`; ranking the same as-of again replaces that partition, never adds to it.
Each partition is written to a temporary file and renamed, like every output.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from potential.data.io import atomic_path

HISTORY_COLUMNS = (
    "as_of",
    "account_id",
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
)


def history_folder(workspace: Path) -> Path:
    return Path(workspace) / "history" / "scores.parquet"


def write_history(ranked: pd.DataFrame, workspace: Path) -> Path:
    """Store the ranked list of its as-of (replacing an earlier one of the same as-of); the partition path."""
    as_of = str(ranked["as_of"].iloc[0]) if len(ranked) else ""
    frame = ranked[[c for c in HISTORY_COLUMNS if c in ranked.columns]].reset_index(drop=True)
    path = history_folder(workspace) / f"as_of={as_of}" / "part-0.parquet"
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def history_as_ofs(workspace: Path) -> list[str]:
    """The as-of dates in the history, oldest first."""
    folder = history_folder(workspace)
    if not folder.is_dir():
        return []
    return sorted(
        p.name.removeprefix("as_of=") for p in folder.glob("as_of=*") if (p / "part-0.parquet").exists()
    )


def read_history(workspace: Path, as_of: str | None = None) -> pd.DataFrame:
    """Every stored list (or the one of `as_of`), one row per account and as-of."""
    dates = [as_of] if as_of is not None else history_as_ofs(workspace)
    parts = [
        pd.read_parquet(history_folder(workspace) / f"as_of={d}" / "part-0.parquet")
        for d in dates
        if (history_folder(workspace) / f"as_of={d}" / "part-0.parquet").exists()
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(HISTORY_COLUMNS))


def previous_as_of(workspace: Path, as_of: str) -> str | None:
    """The latest stored as-of before `as_of`, if any."""
    earlier = [d for d in history_as_ofs(workspace) if d < as_of]
    return earlier[-1] if earlier else None
