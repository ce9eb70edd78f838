"""Leakage audit of the feature table: what a careful reviewer checks before trusting a churn model.

- time travel: features rebuilt from data truncated at the as-of must equal the features from the full data
  (a difference means some builder looked at events on or after the as-of date);
- suspiciously predictive single features (ROC-AUC > 0.95 on the training labels);
- constant features (no information, often a broken join).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from potential.config import Config
from potential.features.build import build_features
from potential.schema import Dataset, load_dataset

SUSPICIOUS_AUC = 0.95


def truncated(dataset: Dataset, as_of: pd.Timestamp) -> Dataset:
    """The same dataset with every event on or after as_of removed."""

    def cut(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if frame is None else frame[frame["date"] < as_of].reset_index(drop=True)

    return Dataset(
        dataset.accounts,
        cut(dataset.transactions),
        cut(dataset.activities),
        dataset.labels,
        dataset.sources,
        dataset.digests,
        dataset.notes,
    )


def time_travel_differences(dataset: Dataset, as_of: pd.Timestamp, config: Config) -> list[str]:
    full = build_features(dataset, as_of, config.features)
    cut = build_features(truncated(dataset, as_of), as_of, config.features)
    problems = []
    for column in sorted(set(full.columns) | set(cut.columns)):
        if column not in full.columns or column not in cut.columns:
            problems.append(
                f"{column}: exists only with {'future' if column in full.columns else 'past'} events"
            )
            continue
        a, b = full[column], cut[column].reindex(full.index)
        if isinstance(a.dtype, pd.CategoricalDtype):
            same = (a.astype(object) == b.astype(object)) | (a.isna() & b.isna())
        else:
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = np.isclose(x, y, equal_nan=True)
        if not np.all(same):
            problems.append(
                f"{column}: {int((~np.asarray(same)).sum())} account(s) change when future events are removed"
            )
    return problems


def single_feature_auc(features: pd.DataFrame, labels: pd.Series) -> pd.Series:
    out = {}
    y = labels.to_numpy(dtype=float)
    ok = np.isfinite(y)
    if len(np.unique(y[ok])) < 2:
        return pd.Series(dtype=float)
    for column in features.columns:
        series = features[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            continue
        x = series.to_numpy(dtype=float)
        valid = ok & np.isfinite(x)
        if valid.sum() < 20 or len(np.unique(y[valid])) < 2 or np.nanstd(x[valid]) == 0:
            continue
        auc = roc_auc_score(y[valid], x[valid])
        out[column] = max(auc, 1 - auc)
    return pd.Series(out).sort_values(ascending=False)


def constant_features(features: pd.DataFrame) -> list[str]:
    return sorted(c for c in features.columns if features[c].nunique(dropna=False) <= 1)


def audit_features(data: Path, as_of: pd.Timestamp, config: Config) -> list[str]:
    from potential.labels import build_training_set

    dataset = load_dataset(Path(data), config.data)
    lines = ["leakage audit"]
    problems = time_travel_differences(dataset, as_of, config)
    lines.append(
        f"  time travel: {'no feature changes when events on/after the as-of are removed' if not problems else 'LEAK'}"
    )
    lines += [f"    {p}" for p in problems]
    feats = build_features(dataset, as_of, config.features)
    constant = constant_features(feats)
    lines.append(f"  constant features: {', '.join(constant) if constant else 'none'}")
    try:
        ts = build_training_set(dataset, as_of, config)
    except Exception as exc:  # too little history for labels: report what we can
        lines.append(f"  single-feature AUC: skipped ({exc})")
        return lines
    for target in ("churn", "expansion"):
        aucs = single_feature_auc(ts.features, ts.labels[target])
        flagged = aucs[aucs > SUSPICIOUS_AUC]
        top = ", ".join(f"{k} {v:.2f}" for k, v in aucs.head(3).items())
        lines.append(
            f"  {target}: strongest single features {top or '—'}; "
            f"{'SUSPICIOUS: ' + ', '.join(flagged.index) if len(flagged) else f'none above {SUSPICIOUS_AUC}'}"
        )
    return lines
