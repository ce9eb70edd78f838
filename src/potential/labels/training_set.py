"""Labels on rolling cutoffs (docs/design.md section 2) and the point-in-time training set.

Each training row is an (account, cutoff) pair: features from events strictly before the cutoff, labels from
the window [cutoff, cutoff + horizon). Only cutoffs whose label window ends on or before the as-of date are used.
The latest cutoffs form the test slice; the slice before it calibrates; training cutoffs end their label
windows before the calibration slice starts (a purged split: no label window of one slice overlaps another's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.config import Config
from potential.data.schema import Dataset
from potential.errors import InsufficientDataError
from potential.features.build import Prepared, features_at, prepare
from potential.features.timebase import day_of
from potential.labels.targets import MONEY_COLUMNS, targets_at

MIN_HISTORY_DAYS = 90
SLICES = ("train", "calibration", "test")


@dataclass(frozen=True)
class TrainingSet:
    features: pd.DataFrame  # index (account_id, cutoff); feature columns
    labels: pd.DataFrame  # same index; churn, expansion (0/1 or NaN), horizon_spend, previous_spend, ...
    slice: pd.Series  # same index; train | calibration | test
    cutoffs: dict[str, tuple[pd.Timestamp, ...]]
    mode: str  # history | profile


def plan_cutoffs(
    first: pd.Timestamp, as_of: pd.Timestamp, config: Config
) -> dict[str, tuple[pd.Timestamp, ...]]:
    """Cutoffs per slice, latest first; raises InsufficientDataError when the history is too short."""
    t = config.time
    h = pd.Timedelta(days=t.horizon_days)
    step = pd.Timedelta(days=t.cutoff_step_days)
    n_val = config.training.validation_cutoffs
    earliest = (first + pd.Timedelta(days=max(MIN_HISTORY_DAYS, t.horizon_days))).normalize()
    test = tuple(as_of - h - k * step for k in range(n_val))
    calibration = tuple(min(test) - h - k * step for k in range(n_val))
    first_train = min(calibration) - h
    train = tuple(first_train - k * step for k in range(t.max_cutoffs) if first_train - k * step >= earliest)
    if not train:
        need = (as_of - earliest).days
        raise InsufficientDataError(
            f"the history from {first.date()} to {as_of.date()} is too short for a {t.horizon_days}-day horizon "
            f"with time validation (needs about {3 * t.horizon_days + (n_val - 1) * 2 * t.cutoff_step_days + max(MIN_HISTORY_DAYS, t.horizon_days)} "
            f"days, has {need}); use a later --as-of, a shorter --horizon-days, or fewer training.validation_cutoffs."
        )
    return {"train": train, "calibration": calibration, "test": test}


def labels_at(prepared: Prepared, cutoff: pd.Timestamp, config: Config) -> pd.DataFrame:
    """Target columns for the accounts active in the lookback before `cutoff` (definitions: `labels.targets`).

    Columns: churn, expansion, horizon_spend, previous_spend, baseline_spend, uplift. Reads only the label
    window [cutoff, cutoff + horizon) and, for the baseline, the history before the cutoff.
    """
    if prepared.transactions is None:
        raise ValueError(
            "labels_at needs transactions, and this dataset has none; "
            "label a profile-only dataset with labels.csv (build_training_set does)."
        )
    columns = targets_at(prepared.transactions, day_of(cutoff), config.time)
    active = columns.pop("active")
    frame = pd.DataFrame(columns, index=prepared.index)
    return frame.loc[active]


def build_training_set(dataset: Dataset, as_of: pd.Timestamp, config: Config, progress=None) -> TrainingSet:
    """Stack (account, cutoff) rows over the planned cutoffs; labels.csv overrides derived labels where given.

    `progress(done, total)` is told after each cutoff.
    """
    if not dataset.has_history:
        return profile_training_set(dataset, as_of, config)
    plan = plan_cutoffs(dataset.first_date(), as_of, config)
    prepared = prepare(dataset, as_of, config.features)
    feature_parts, label_parts, slice_parts = [], [], []
    all_cutoffs = [(name, c) for name in SLICES for c in plan[name]]
    for name, cutoff in all_cutoffs:
        labels = labels_at(prepared, cutoff, config)
        feats = features_at(prepared, cutoff)
        ids = labels.index.intersection(feats.index)
        labels = labels.loc[ids]
        feats = feats.loc[ids]
        key = pd.MultiIndex.from_arrays([ids, np.full(len(ids), cutoff)], names=["account_id", "cutoff"])
        feats.index = key
        labels.index = key
        feature_parts.append(feats)
        label_parts.append(labels)
        slice_parts.append(pd.Series(name, index=key))
        if progress is not None:
            progress(len(feature_parts), len(all_cutoffs))
    features = pd.concat(feature_parts)
    labels = pd.concat(label_parts)
    labels = apply_label_overrides(labels, dataset.labels)
    return TrainingSet(features, labels, pd.concat(slice_parts), plan, "history")


def apply_label_overrides(labels: pd.DataFrame, given: pd.DataFrame | None) -> pd.DataFrame:
    """labels.csv rows with an as_of override the derived labels of that (account, cutoff)."""
    if given is None or "as_of" not in given.columns:
        return labels
    out = labels.copy()
    for column in ("churn", "expansion"):
        source = {"churn": "churned", "expansion": "expanded"}[column]
        if source not in given.columns:
            continue
        rows = given.dropna(subset=[source, "as_of"])
        key = pd.MultiIndex.from_arrays([rows["account_id"], rows["as_of"]], names=["account_id", "cutoff"])
        values = pd.Series(rows[source].to_numpy(), index=key)
        hit = values.index.intersection(out.index)
        out.loc[hit, column] = values.loc[hit]
    return out


def profile_training_set(dataset: Dataset, as_of: pd.Timestamp, config: Config) -> TrainingSet:
    """No transactions: one row per labelled account, profile features only, a seeded stratified split."""
    prepared = prepare(dataset, as_of, config.features)
    feats = features_at(prepared, as_of)
    given = dataset.labels.drop_duplicates("account_id", keep="last").set_index("account_id")
    labels = pd.DataFrame(index=feats.index)
    labels["churn"] = given["churned"].reindex(feats.index) if "churned" in given else np.nan
    labels["expansion"] = given["expanded"].reindex(feats.index) if "expanded" in given else np.nan
    labelled = labels[["churn", "expansion"]].notna().any(axis=1)
    feats, labels = feats.loc[labelled], labels.loc[labelled]
    rng = np.random.default_rng(config.seed)
    # stratify on the first available label so each slice keeps the positive rate
    target = labels["churn"] if labels["churn"].notna().any() else labels["expansion"]
    slice_ = pd.Series("train", index=feats.index)
    for value in (0.0, 1.0, np.nan):
        idx = np.flatnonzero(target.isna().to_numpy() if value != value else (target == value).to_numpy())
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) * 0.2))
        n_cal = int(round(len(idx) * 0.15))
        slice_.iloc[idx[:n_test]] = "test"
        slice_.iloc[idx[n_test : n_test + n_cal]] = "calibration"
    key = pd.MultiIndex.from_arrays([feats.index, np.full(len(feats), as_of)], names=["account_id", "cutoff"])
    feats.index = labels.index = slice_.index = key
    for column in MONEY_COLUMNS:
        labels[column] = np.nan
    return TrainingSet(
        feats, labels, slice_, {"train": (as_of,), "calibration": (as_of,), "test": (as_of,)}, "profile"
    )
