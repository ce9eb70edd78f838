"""Labels on rolling cutoffs (docs/design.md section 2) and the point-in-time training set.

Each training row is an (account, cutoff) pair: features from events strictly before the cutoff, labels from
the window [cutoff, cutoff + horizon). Only cutoffs whose label window ends on or before the as-of date are used.
The latest cutoffs form the test slice; the slice before it calibrates; training cutoffs end their label
windows before the calibration slice starts (a purged split: no label window of one slice overlaps another's).
A history too short for the configured cutoffs gets fewer validation cutoffs and a shorter step (`plan_cutoffs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.config import Config
from potential.data.schema import Dataset
from potential.errors import InsufficientDataError
from potential.features.build import Prepared, features_at, prepare
from potential.features.timebase import day_of
from potential.labels.targets import MONEY_COLUMNS, BuyingCurve, targets_at

MIN_HISTORY_DAYS = 90  # history before the earliest cutoff, so its features describe the account
SLICES = ("train", "calibration", "test")
# A short history adapts the configured cutoffs (plan_cutoffs): the step may shrink to this many days ...
MIN_STEP_DAYS = 14
# ... and the validation slices to one cutoff each, so that the train slice gets this many cutoffs
MIN_TRAIN_CUTOFFS = 3
MIN_HORIZON_DAYS = 7  # the shortest horizon a refusal suggests


Cutoffs = tuple[pd.Timestamp, ...]


@dataclass(frozen=True, eq=False)
class CutoffPlan(Mapping[str, Cutoffs]):
    """Cutoffs per slice, latest first, read like a dict (`plan["train"]`); `notes` say how the configured
    cutoffs were adapted to a short history (empty when they were used as configured)."""

    train: Cutoffs
    calibration: Cutoffs
    test: Cutoffs
    notes: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Cutoffs:
        if name not in SLICES:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(SLICES)

    def __len__(self) -> int:
        return len(SLICES)


@dataclass(frozen=True)
class TrainingSet:
    features: pd.DataFrame  # index (account_id, cutoff); feature columns
    labels: pd.DataFrame  # same index; churn, expansion (0/1 or NaN), horizon_spend, previous_spend, ...
    slice: pd.Series  # same index; train | calibration | test
    cutoffs: CutoffPlan
    mode: str  # history | profile


def _layout(
    as_of: pd.Timestamp, earliest: pd.Timestamp, horizon: int, step: int, n_val: int, max_cutoffs: int
) -> CutoffPlan:
    """The purged layout: `n_val` test cutoffs, `n_val` calibration cutoffs, then up to `max_cutoffs` train
    cutoffs no earlier than `earliest`, each slice's label windows ending before the next slice starts."""
    h, s = pd.Timedelta(days=horizon), pd.Timedelta(days=step)
    test = tuple(as_of - h - k * s for k in range(n_val))
    calibration = tuple(min(test) - h - k * s for k in range(n_val))
    first_train = min(calibration) - h
    train = tuple(first_train - k * s for k in range(max_cutoffs) if first_train - k * s >= earliest)
    return CutoffPlan(train, calibration, test)


def _earliest(first: pd.Timestamp, horizon: int) -> pd.Timestamp:
    return (first + pd.Timedelta(days=max(MIN_HISTORY_DAYS, horizon))).normalize()


def plan_cutoffs(first: pd.Timestamp, as_of: pd.Timestamp, config: Config) -> CutoffPlan:
    """Cutoffs per slice, latest first, from the configured horizon, step and validation cutoffs.

    When the history leaves the configured plan fewer than MIN_TRAIN_CUTOFFS training cutoffs (or
    time.max_cutoffs, if fewer), the plan adapts, saying so in `notes`: the step shrinks (down to
    MIN_STEP_DAYS), then the validation slices lose cutoffs (down to one each), until the train slice has
    that many; if no choice reaches it, the one with the most training cutoffs is used. Raises
    InsufficientDataError only when not even one train, one calibration and one test cutoff fit, with
    non-overlapping label windows and MIN_HISTORY_DAYS of history before the earliest.
    """
    t = config.time
    n_val = config.training.validation_cutoffs
    earliest = _earliest(first, t.horizon_days)
    configured = _layout(as_of, earliest, t.horizon_days, t.cutoff_step_days, n_val, t.max_cutoffs)
    wanted = min(t.max_cutoffs, MIN_TRAIN_CUTOFFS)
    if len(configured.train) >= wanted:
        return configured
    if not _layout(as_of, earliest, t.horizon_days, t.cutoff_step_days, 1, 1).train:
        raise InsufficientDataError(_too_short(first, as_of, t.horizon_days))
    shortest = min(MIN_STEP_DAYS, t.cutoff_step_days)
    choices = [
        (n, step, _layout(as_of, earliest, t.horizon_days, step, n, t.max_cutoffs))
        for n in range(n_val, 0, -1)
        for step in range(t.cutoff_step_days, shortest - 1, -1)
    ]  # in order of preference: most validation cutoffs, then the longest step
    n, step, plan = next(
        (c for c in choices if len(c[2].train) >= wanted),
        max(choices, key=lambda c: (len(c[2].train), c[0], c[1])),
    )
    if (n, step) == (n_val, t.cutoff_step_days):
        return configured  # nothing the history allows gives the train slice more cutoffs
    changes = []
    if step != t.cutoff_step_days:
        changes.append(f"cutoffs every {step} days instead of {t.cutoff_step_days} (time.cutoff_step_days)")
    if n != n_val:
        changes.append(f"{n} cutoff(s) per validation slice instead of {n_val} (training.validation_cutoffs)")
    span = (as_of - first.normalize()).days
    note = (
        f"time validation adapted to a short history ({first.date()} to {as_of.date()}, {span} days, "
        f"{t.horizon_days}-day horizon): {' and '.join(changes)}, so the train slice has {len(plan.train)} "
        f"cutoff(s) instead of {len(configured.train)}; "
        "set these keys, or a shorter --horizon-days, to choose yourself."
    )
    return CutoffPlan(plan.train, plan.calibration, plan.test, (note,))


def _too_short(first: pd.Timestamp, as_of: pd.Timestamp, horizon: int) -> str:
    """The refusal: the days one train, one calibration and one test cutoff need, the days there are, the fix."""
    span = (as_of - first.normalize()).days
    need = 3 * horizon + max(MIN_HISTORY_DAYS, horizon)
    fits = next(
        (
            h
            for h in range(horizon - 1, MIN_HORIZON_DAYS - 1, -1)
            if _layout(as_of, _earliest(first, h), h, h, 1, 1).train
        ),
        None,
    )
    head = (
        f"the history from {first.date()} to {as_of.date()} is too short for a {horizon}-day horizon with time "
        f"validation: one train, one calibration and one test cutoff, each with its own {horizon}-day label window, "
        f"after {max(MIN_HISTORY_DAYS, horizon)} days of history need about {need} days, and it has {span}"
    )
    if fits is not None:
        return f"{head}; set --horizon-days {fits} or less (time.horizon_days), or use a later --as-of."
    least = 3 * MIN_HORIZON_DAYS + MIN_HISTORY_DAYS
    return (
        f"{head}; no --horizon-days of {MIN_HORIZON_DAYS} or more fits, so use a later --as-of once the history "
        f"spans at least {least} days."
    )


def labels_at(
    prepared: Prepared,
    cutoff: pd.Timestamp,
    config: Config,
    *,
    end: pd.Timestamp | None = None,
    curve: BuyingCurve | None = None,
) -> pd.DataFrame:
    """Target columns for the accounts active in the lookback before `cutoff` (definitions: `labels.targets`).

    Columns: churn, expansion, horizon_spend, previous_spend, baseline_spend, uplift. Reads the history
    before the cutoff (baseline), the label window [cutoff, cutoff + horizon) and, for the expansion's
    step detector, the level window after each step point, up to `end`: the first day the data does not
    cover (default `prepared.as_of`, right when the data was cut there, as for training). `curve`: the
    buying curve of `prepared` up to `end`, when the caller labels many cutoffs.
    """
    if prepared.transactions is None:
        raise ValueError(
            "labels_at needs transactions, and this dataset has none; "
            "label a profile-only dataset with labels.csv (build_training_set does)."
        )
    if curve is None:
        curve = buying_curve(prepared, end)
    columns = targets_at(prepared.transactions, day_of(cutoff), config.time, curve)
    active = columns.pop("active")
    frame = pd.DataFrame(columns, index=prepared.index)
    return frame.loc[active]


def data_end(last: pd.Timestamp) -> pd.Timestamp:
    """The first day a dataset whose last event is at `last` does not cover (the `end` of `labels_at`)."""
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


def buying_curve(prepared: Prepared, end: pd.Timestamp | None = None) -> BuyingCurve:
    """The buying curve of `prepared`'s transactions up to `end` (default: its as-of), for `labels_at`."""
    if prepared.transactions is None:
        raise ValueError("buying_curve needs transactions")
    return BuyingCurve.build(prepared.transactions, day_of(end if end is not None else prepared.as_of))


def build_training_set(dataset: Dataset, as_of: pd.Timestamp, config: Config, progress=None) -> TrainingSet:
    """Stack (account, cutoff) rows over the planned cutoffs; labels.csv overrides derived labels where given.

    `progress(done, total)` is told after each cutoff.
    """
    if not dataset.has_history:
        return profile_training_set(dataset, as_of, config)
    plan = plan_cutoffs(dataset.first_date(), as_of, config)
    prepared = prepare(dataset, as_of, config.features)
    curve = buying_curve(prepared)
    feature_parts, label_parts, slice_parts = [], [], []
    all_cutoffs = [(name, c) for name in SLICES for c in plan[name]]
    for name, cutoff in all_cutoffs:
        labels = labels_at(prepared, cutoff, config, curve=curve)
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


def label_override_notes(given: pd.DataFrame | None, name: str, plan: CutoffPlan) -> list[str]:
    """What became of labels.csv beside transactions (`apply_label_overrides`): a note when some of its
    labels are not used (their as_of is no training cutoff), since the derived labels would otherwise stand
    in for them without a word."""
    if given is None:
        return []
    known = [column for column in ("churned", "expanded") if column in given.columns]
    if not known:
        return []
    if "as_of" not in given.columns:
        return []  # the whole file is not used: said when the data is read (`schema.unplaced_labels_note`)
    labelled = given[known].notna().any(axis=1) & given["as_of"].notna()
    cutoffs = sorted({c for part in SLICES for c in plan[part]}, reverse=True)
    unused = int((labelled & ~given["as_of"].isin(cutoffs)).sum())
    if not unused:
        return []
    shown = ", ".join(f"{c:%Y-%m-%d}" for c in cutoffs[:3]) + (", ..." if len(cutoffs) > 3 else "")
    return [
        f"{name}: {unused:,} of {int(labelled.sum()):,} labelled row(s) not used: their as_of is not one of "
        f"the training cutoffs ({shown}), so the labels derived from the transactions stand there."
    ]


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
    return TrainingSet(feats, labels, slice_, CutoffPlan((as_of,), (as_of,), (as_of,)), "profile")
