"""Drift between two runs: the population stability index (PSI) of every feature and score (no I/O).

A run's *profile* (`bin_profile`) records, per column, the bins of its values and each bin's share; the next run
puts its own values into the previous run's bins and compares the shares (`drift_table`).

Bins, from the reference (previous) run:

- a numeric column (booleans as 0/1): edges at the deciles of its non-missing values, duplicates dropped, so
  a column with few distinct values gets fewer bins. Bin 0 holds x <= edge_1, bin i holds
  edge_i < x <= edge_(i+1), the last bin x > the last edge (no edges: one bin for every value).
- a categorical column (text, category): one bin per category; a category only the current run has is a
  bin of its own with reference share 0.
- missing values (NaN) are always a bin of their own, in both kinds.

PSI = sum over bins i of (a_i - e_i) x ln(a_i / e_i), with e_i the reference share and a_i the current share
of bin i, each floored at EPSILON = 1e-4 so that an empty bin counts as a small share instead of an infinite
term. Identical shares give 0; the index grows with the shift, symmetric in the two runs except for the bins.
A common reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a large one; the threshold
that flags a column is `ranking.drift_psi_threshold`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

EPSILON = 1e-4
BINS = 10
PROFILE_COLUMNS = ("role", "column", "kind", "bin", "upper", "category", "missing", "count", "share")
DRIFT_COLUMNS = ("role", "column", "kind", "psi", "drifted", "bins", "reference_missing", "current_missing")
SCORE_COLUMNS = (
    "priority_score",
    "churn_probability",
    "expansion_probability",
    "expected_uplift",
    "revenue_at_risk",
    "rating_score",
)


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = EPSILON) -> float:
    """PSI of two share vectors over the same bins (each summing to 1), shares floored at `epsilon`."""
    e = np.maximum(np.asarray(reference, dtype=float), epsilon)
    a = np.maximum(np.asarray(current, dtype=float), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def is_numeric(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype))


def bin_profile(columns: Mapping[str, pd.DataFrame], bins: int = BINS) -> pd.DataFrame:
    """The binned profile of every column of each frame (role -> frame, e.g. "feature", "score"): long,
    PROFILE_COLUMNS, one row per bin. `upper` is a numeric bin's upper edge (inf for the last one),
    `category` a categorical bin's value; the missing-value bin has missing = True."""
    rows: list[pd.DataFrame] = []
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    for role, frame in columns.items():
        for column in frame.columns:
            values = frame[column]
            missing = values.isna().to_numpy()
            n = len(values)
            if is_numeric(values):
                x = values[~missing].to_numpy(dtype=float)
                edges = _edges(x, quantiles)
                counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
                uppers = np.append(edges, np.inf)
                part = pd.DataFrame({"kind": "numeric", "upper": uppers, "category": "", "count": counts})
            else:
                text = values[~missing].astype(str)
                counts_by = text.value_counts(sort=False).sort_index()
                part = pd.DataFrame(
                    {
                        "kind": "categorical",
                        "upper": np.nan,
                        "category": counts_by.index.astype(str),
                        "count": counts_by.to_numpy(),
                    }
                )
            part["missing"] = False
            missing_row = {
                "kind": part["kind"].iloc[0] if len(part) else "categorical",
                "upper": np.nan,
                "category": "",
                "count": int(missing.sum()),
                "missing": True,
            }
            part = pd.concat([part, pd.DataFrame([missing_row])], ignore_index=True)
            part["bin"] = np.arange(len(part))
            part["share"] = part["count"] / n if n else 0.0
            rows.append(part.assign(role=role, column=str(column)))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROFILE_COLUMNS})
    out = pd.concat(rows, ignore_index=True)
    out["count"] = out["count"].astype(int)
    out["missing"] = out["missing"].astype(bool)
    return out[list(PROFILE_COLUMNS)]


def _edges(x: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    finite = x[np.isfinite(x)]
    if not len(finite):
        return np.array([], dtype=float)
    return np.unique(np.quantile(finite, quantiles))


def current_shares(reference: pd.DataFrame, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(reference shares, current shares) over the reference's bins of one column, plus a bin per category
    the reference never saw."""
    reference = reference.sort_values("bin")
    n = len(values)
    missing = values.isna().to_numpy()
    is_missing = reference["missing"].to_numpy(dtype=bool)
    expected = reference["share"].to_numpy(dtype=float)
    counts = np.zeros(len(reference), dtype=float)
    counts[is_missing] = missing.sum()
    if reference["kind"].iloc[0] == "numeric":
        edges = reference.loc[~is_missing, "upper"].to_numpy(dtype=float)[:-1]
        x = pd.to_numeric(values[~missing], errors="coerce").to_numpy(dtype=float)
        inside = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
        counts[~is_missing] = inside
    else:
        seen = reference.loc[~is_missing, "category"].astype(str).tolist()
        found = values[~missing].astype(str).value_counts()
        counts[~is_missing] = found.reindex(seen).fillna(0).to_numpy()
        unseen = found.drop(index=seen, errors="ignore").sort_index()
        expected = np.append(expected, np.zeros(len(unseen)))
        counts = np.append(counts, unseen.to_numpy(dtype=float))
    return expected, counts / n if n else counts


def drift_table(
    reference: pd.DataFrame, current: Mapping[str, pd.DataFrame], threshold: float
) -> pd.DataFrame:
    """PSI of every column that both the reference profile and `current` (role -> frame) hold: DRIFT_COLUMNS,
    largest PSI first (ties by role and column). A column whose kind changed, or that either run lacks, is
    left out. `drifted` is psi >= threshold."""
    rows = []
    for (role, column), bins in reference.groupby(["role", "column"], sort=True):
        frame = current.get(str(role))
        if frame is None or column not in frame.columns or bins["count"].sum() == 0 or not len(frame):
            continue
        values = frame[column]
        kind = "numeric" if is_numeric(values) else "categorical"
        if kind != bins["kind"].iloc[0]:
            continue
        expected, actual = current_shares(bins, values)
        value = psi(expected, actual)
        rows.append(
            {
                "role": role,
                "column": column,
                "kind": kind,
                "psi": round(value, 6),
                "drifted": value >= threshold,
                "bins": len(expected),
                "reference_missing": float(bins.loc[bins["missing"].astype(bool), "share"].sum()),
                "current_missing": float(values.isna().mean()),
            }
        )
    table = pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))
    if table.empty:
        return table
    return table.sort_values(
        ["psi", "role", "column"], ascending=[False, True, True], kind="mergesort", ignore_index=True
    )
