"""The synthetic portfolio's ground truth, for backtests on generated data (real data has none).

`potential generate` and `potential demo` write `truth_events` (account_id, date, kind, magnitude: every
real churn and expansion) and `truth` (one row per account with `churn_date` and `expansion_date`) beside
the tables. The pipeline never trains or scores on them; only `backtest` reads them, to score the list
against what the generator actually did.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from potential.data.io import find_table

TRUTH_KINDS = ("churn", "expansion")


def read_truth_events(folder: Path) -> pd.DataFrame | None:
    """One row per true event (account_id, date, kind), or None when the folder holds no truth files."""
    folder = Path(folder)
    events = find_table(folder, "truth_events")
    if events is not None:
        frame = _read(events)
        frame = frame[["account_id", "date", "kind"]].copy()
    else:
        truth = find_table(folder, "truth")
        if truth is None:
            return None
        wide = _read(truth)
        parts = [
            pd.DataFrame({"account_id": wide["account_id"], "date": wide[f"{kind}_date"], "kind": kind})
            for kind in TRUTH_KINDS
            if f"{kind}_date" in wide.columns
        ]
        if not parts:
            return None
        frame = pd.concat(parts, ignore_index=True)
    frame["account_id"] = frame["account_id"].astype(str)
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    frame = frame[frame["kind"].isin(TRUTH_KINDS) & frame["date"].notna()]
    return frame.sort_values(["date", "account_id"], kind="mergesort", ignore_index=True)


def events_from_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """The generator's events (account_id, date, kind) from either truth frame: the events themselves, or
    the per-account table with churn_date and expansion_date (first expansion only)."""
    if {"kind", "date"} <= set(truth.columns):
        frame = truth[["account_id", "date", "kind"]].copy()
    else:
        frame = pd.concat(
            [
                pd.DataFrame({"account_id": truth["account_id"], "date": truth[f"{k}_date"], "kind": k})
                for k in TRUTH_KINDS
                if f"{k}_date" in truth.columns
            ],
            ignore_index=True,
        )
    frame["account_id"] = frame["account_id"].astype(str)
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    return frame[frame["kind"].isin(TRUTH_KINDS) & frame["date"].notna()].reset_index(drop=True)


def true_outcomes(events: pd.DataFrame, start: pd.Timestamp, days: int) -> pd.DataFrame:
    """Per account: 1 if the generator's event of each kind happened in [start, start + days), else 0."""
    end = start + pd.Timedelta(days=days)
    inside = events[(events["date"] >= start) & (events["date"] < end)]
    accounts = pd.Index(sorted(set(events["account_id"])), name="account_id")
    out = pd.DataFrame(index=accounts)
    for kind in TRUTH_KINDS:
        hit = set(inside.loc[inside["kind"] == kind, "account_id"])
        out[kind] = out.index.isin(hit).astype(float)
    return out


def churned_before(events: pd.DataFrame, start: pd.Timestamp) -> set[str]:
    """Accounts the generator had already churned before `start` (they have nothing left to predict)."""
    gone = events[(events["kind"] == "churn") & (events["date"] < start)]
    return set(gone["account_id"])


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"account_id": str})
