"""Leakage audit of the feature table: what a careful reviewer checks before trusting a churn model.

- time travel: features rebuilt from data truncated at the as-of must equal the features from the full data
  (a difference means some builder looked at events on or after the as-of date);
- suspiciously predictive single features (ROC-AUC > 0.95 on the training labels);
- constant features (no information, often a broken join).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from potential.config import Config
from potential.data.schema import Dataset
from potential.features.build import build_features
from potential.labels.training_set import TrainingSet

SUSPICIOUS_AUC = 0.95


def truncated(dataset: Dataset, as_of: pd.Timestamp) -> Dataset:
    """The same dataset with every event on or after as_of removed."""
    return dataset.before(as_of)


def time_travel_differences(dataset: Dataset, as_of: pd.Timestamp, config: Config) -> list[str]:
    """Features from the full data vs from the data cut at `as_of`: one line per column that differs."""
    full = build_features(dataset, as_of, config.features)
    cut = build_features(truncated(dataset, as_of), as_of, config.features)
    return feature_differences(full, cut)


def feature_differences(full: pd.DataFrame, cut: pd.DataFrame) -> list[str]:
    """Columns whose values differ between two feature tables of the same accounts (none = no leak)."""
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
    from sklearn.metrics import roc_auc_score  # here: `potential features` never needs scikit-learn

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


def audit_lines(
    full: pd.DataFrame, cut: pd.DataFrame, training: TrainingSet | None, skipped: str | None = None
) -> list[str]:
    """The audit's findings: time travel (`full` vs `cut` features at the as-of), constant features and
    suspiciously strong single features on the training set (or why that check was `skipped`)."""
    lines = ["leakage audit"]
    problems = feature_differences(full, cut)
    lines.append(
        f"  time travel: {'no feature changes when events on/after the as-of are removed' if not problems else 'LEAK'}"
    )
    lines += [f"    {p}" for p in problems]
    constant = constant_features(full)
    lines.append(f"  constant features: {', '.join(constant) if constant else 'none'}")
    if training is None:
        lines.append(f"  single-feature AUC: skipped ({skipped})")
        return lines
    for target in ("churn", "expansion"):
        aucs = single_feature_auc(training.features, training.labels[target])
        flagged = aucs[aucs > SUSPICIOUS_AUC]
        top = ", ".join(f"{k} {v:.2f}" for k, v in aucs.head(3).items())
        lines.append(
            f"  {target}: strongest single features {top or '—'}; "
            f"{'SUSPICIOUS: ' + ', '.join(flagged.index) if len(flagged) else f'none above {SUSPICIOUS_AUC}'}"
        )
    return lines
