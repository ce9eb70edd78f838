"""LightGBM's exact TreeSHAP contributions (`pred_contrib`), computed once per distinct decision pattern.

Why it is exact. Within one tree, a row's TreeSHAP vector depends on the row only through the direction it
takes at each of the tree's internal nodes (the recursion follows the branch the row takes and weighs the
other; feature values enter nowhere else). Rows that decide alike at every node of a tree get the same
contributions from that tree. So, per tree, rows are grouped by a key at least as fine as those decisions,
LightGBM computes that one tree's `pred_contrib` for one representative row per group, and the values are
copied to the group's rows (a tree adds only to the features it splits on, and a bias the same for every
row). Every number is LightGBM's own; the grouping only chooses the row it is computed for. A tree of 15
leaves sees a few thousand patterns among 100k accounts, so LightGBM evaluates ~2% of the rows.

The key. Each feature's values are binned once by the union of the model's thresholds on it (with NaN, and
the zero band |x| <= 1e-35 that LightGBM reads as 0.0, apart where a split treats them apart); within a bin
every split on the feature decides alike. Per tree, a small table maps the bins to the decisions they take
at the tree's splits on the feature, as LightGBM's NumericalDecision / CategoricalDecision take them (NaN
read as 0.0 unless the missing type is NaN; missing values the default way; a category left when in the
split's set; NaN, negative and out-of-range codes right); the per-feature codes, in mixed radix, form the
key.

Check: each row's contributions must add up to the booster's raw score; rows that do not (never seen) are
recomputed with plain `pred_contrib`. Models this does not cover (several outputs per iteration, linear
trees, averaged output) and inputs under MIN_ROWS rows go straight to plain `pred_contrib`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import lightgbm as lgb  # imported where used: commands that explain nothing should not wait for it

MIN_ROWS = 2_000  # below this, plain pred_contrib is fast anyway
ROW_BLOCK = 100_000  # rows grouped together: more share patterns, but the bins and sums take memory
SUM_TOLERANCE = 1e-6  # |sum of a row's contributions - raw score| above this: recompute the row plainly
_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float): |x| <= it is "zero", read as 0.0
_ZERO_BAND = np.array([np.nextafter(-_ZERO, -np.inf), _ZERO])  # edges making [-_ZERO, _ZERO] bins apart
_NARROW_KEY = 1 << 31  # trees whose keys stay below this use int32 keys
_MAX_KEY = 1 << 62  # the mixed-radix key stays below this (int64); beyond it the key is compacted first
_CATEGORICAL, _DEFAULT_LEFT = 1, 2  # LightGBM decision_type bits; missing type is (decision_type >> 2) & 3
_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2


@dataclass(frozen=True)
class _Split:
    """One internal node: its feature and what decides the direction (threshold, or left categories)."""

    feature: int
    categorical: bool
    threshold: float  # numerical splits
    missing: int  # _MISSING_NONE, _MISSING_ZERO or _MISSING_NAN
    default_left: bool  # where missing values go (NaN, or zero for _MISSING_ZERO)
    left: np.ndarray  # categorical splits: bool mask over category codes 0..len-1 (in the set: left)


def _fields(block: str) -> dict[str, str]:
    return dict(line.partition("=")[::2] for line in block.splitlines() if "=" in line)


def _category_mask(fields: dict[str, str], index: int) -> np.ndarray:
    """The bitset of categorical split `index` (cat_threshold words between its cat_boundaries) as a mask."""
    bounds = [int(v) for v in fields["cat_boundaries"].split()]
    words = np.array(fields["cat_threshold"].split()[bounds[index] : bounds[index + 1]], dtype=np.uint32)
    return np.unpackbits(words.astype("<u4").view(np.uint8), bitorder="little").astype(bool)


def _tree_splits(fields: dict[str, str]) -> list[_Split]:
    if int(fields["num_leaves"]) <= 1:
        return []
    features = [int(v) for v in fields["split_feature"].split()]
    thresholds = [float(v) for v in fields["threshold"].split()]
    kinds = [int(v) for v in fields["decision_type"].split()]
    splits = []
    for feature, threshold, kind in zip(features, thresholds, kinds, strict=True):
        categorical = bool(kind & _CATEGORICAL)
        splits.append(
            _Split(
                feature=feature,
                categorical=categorical,
                threshold=threshold,
                missing=(kind >> 2) & 3,
                default_left=bool(kind & _DEFAULT_LEFT),
                left=_category_mask(fields, int(threshold)) if categorical else np.zeros(0, dtype=bool),
            )
        )
    return splits


def _parse(text: str, n_trees: int) -> list[list[_Split]] | None:
    """The splits of the `n_trees` trees of a model text (`Booster.model_to_string`; thresholds as stored,
    exactly); None when the model has something this module does not handle (then plain pred_contrib)."""
    header, *blocks = text.split("\nTree=")
    if "average_output" in header.splitlines() or len(blocks) != n_trees:
        return None
    trees = []
    for block in blocks:
        fields = _fields(block.split("\nend of trees")[0])
        if fields.get("is_linear", "0") != "0":
            return None
        trees.append(_tree_splits(fields))
    return trees


@dataclass(frozen=True)
class _Feature:
    """A feature's global bins: codes every tree's local key is a function of (one pass over the data)."""

    categorical: bool
    edges: np.ndarray  # numerical: sorted breakpoints, the union of every tree's local ones
    n_categories: int  # categorical: codes 0..n-1 can be in a split's set

    def bins(self, column: np.ndarray) -> np.ndarray:
        """Numerical: the interval of `edges` (x in (e[i-1], e[i]] -> i), NaN last. Categorical: the code
        LightGBM reads (int cast, so truncated), then out-of-range, negative, NaN."""
        if self.categorical:
            n = self.n_categories
            with np.errstate(invalid="ignore"):
                code = np.trunc(column)
                out = np.where(code >= n, n, np.where(code < 0, n + 1, code))
            out[np.isnan(column)] = n + 2
        else:
            out = np.searchsorted(self.edges, column, side="left")
            out[np.isnan(column)] = len(self.edges) + 1
        return out.astype(np.intp)  # intp: indexing with other integer types converts them first


def _band_splits(splits: list[_Split]) -> bool:
    """Whether a threshold cuts the zero band [-_ZERO, _ZERO], whose values LightGBM reads as 0.0: then the
    band's own intervals decide as 0.0 does, not as their edges (only -_ZERO <= threshold < _ZERO)."""
    return any(-_ZERO <= s.threshold < _ZERO for s in splits)


def _local_edges(splits: list[_Split]) -> np.ndarray:
    """A tree's breakpoints of one numerical feature: its thresholds, plus the zero band's edges where the
    band decides apart (a Zero-missing split sends it the default way, or a threshold cuts it)."""
    thresholds = np.array([s.threshold for s in splits])
    if any(s.missing == _MISSING_ZERO for s in splits) or _band_splits(splits):
        thresholds = np.concatenate([thresholds, _ZERO_BAND])
    return np.unique(thresholds)


def _numerical_left(splits: list[_Split], values: np.ndarray) -> np.ndarray:
    """[values x splits]: whether each value goes left at each split, as LightGBM's NumericalDecision
    decides: NaN is read as 0.0 unless the split's missing type is NaN; a missing value (NaN for type NaN,
    zero for type Zero) goes the default way; otherwise x <= threshold."""
    left = np.empty((len(values), len(splits)), dtype=bool)
    for j, s in enumerate(splits):
        x = values if s.missing == _MISSING_NAN else np.where(np.isnan(values), 0.0, values)
        missing = np.isnan(x) if s.missing == _MISSING_NAN else np.zeros(len(x), dtype=bool)
        if s.missing == _MISSING_ZERO:
            missing = np.abs(x) <= _ZERO
        with np.errstate(invalid="ignore"):
            left[:, j] = np.where(missing, s.default_left, x <= s.threshold)
    return left


def _pattern_codes(left: np.ndarray) -> np.ndarray:
    """The rows of a bool matrix numbered 0.. by distinct row (equal rows, equal numbers)."""
    if left.shape[1] < 62:
        packed = left.astype(np.int64) @ (np.int64(1) << np.arange(left.shape[1], dtype=np.int64))
        return np.unique(packed, return_inverse=True)[1].reshape(-1)
    return np.unique(left, axis=0, return_inverse=True)[1].reshape(-1)


def _numerical_lut(feature: _Feature, splits: list[_Split]) -> np.ndarray:
    """Global bin -> local code: bins deciding alike at every split of the tree on the feature share one.

    Every global bin decides as its upper edge does (the edges hold every threshold), the last interval as
    +inf, the NaN bin as NaN. Where a threshold cuts the zero band, its bins keep codes of their own (the
    band is read as 0.0, not as the edge), so no decision hangs on that reading."""
    edges = feature.edges
    values = np.concatenate([edges, [np.inf, np.nan]])
    codes = _pattern_codes(_numerical_left(splits, values))
    if _band_splits(splits):
        band = np.flatnonzero((values >= -_ZERO) & (values <= _ZERO))
        codes[band] = codes.max() + 1 + np.arange(len(band))
        codes = np.unique(codes, return_inverse=True)[1].reshape(-1)
    return codes.astype(np.int64)


def _categorical_lut(feature: _Feature, splits: list[_Split]) -> np.ndarray:
    """Global bin -> local code: categories with the same membership at every split of the tree on the
    feature share one. Out-of-range, negative and NaN codes go right at every categorical split
    (LightGBM's CategoricalDecision since 3.3; this package needs 4.3 or later), as a category in no set."""
    members = np.zeros((feature.n_categories + 3, len(splits)), dtype=bool)
    for j, split in enumerate(splits):
        members[: len(split.left), j] = split.left
    return _pattern_codes(members).astype(np.int64)


@dataclass(frozen=True)
class _TreePlan:
    """What one tree needs from the data: per feature it splits on, the global-bin -> local-code table."""

    index: int
    features: tuple[int, ...]
    luts: tuple[np.ndarray, ...]
    radixes: tuple[int, ...]  # the number of local codes of each feature
    narrow: tuple[np.ndarray, ...] | None  # the tables times their mixed-radix place, when keys fit int32


def _tree_plan(index: int, features: tuple[int, ...], luts: tuple[np.ndarray, ...]) -> _TreePlan:
    """The plan, with int32 tables premultiplied by their place when every key fits in an int32 (the usual
    case: half the memory traffic of int64 keys, and no multiplication per call)."""
    radixes = tuple(int(lut.max()) + 1 for lut in luts)
    places = [int(p) for p in np.cumprod((1, *radixes), dtype=object)]
    narrow = (
        tuple((lut * place).astype(np.int32) for lut, place in zip(luts, places, strict=False))
        if places[-1] < _NARROW_KEY
        else None
    )
    return _TreePlan(index, features, luts, radixes, narrow)


def _split_by_feature(trees: list[list[_Split]]) -> list[dict[int, list[_Split]]]:
    """Per tree, its splits by feature."""
    out: list[dict[int, list[_Split]]] = []
    for splits in trees:
        mine: dict[int, list[_Split]] = {}
        for split in splits:
            mine.setdefault(split.feature, []).append(split)
        out.append(mine)
    return out


def _features(trees: list[dict[int, list[_Split]]]) -> dict[int, _Feature] | None:
    """The global bins of each feature the trees split on; None when a feature is split both ways."""
    kinds: dict[int, set[bool]] = {}
    edges: dict[int, list[np.ndarray]] = {}
    categories: dict[int, int] = {}
    for tree in trees:
        for f, splits in tree.items():
            kinds.setdefault(f, set()).update(s.categorical for s in splits)
            if splits[0].categorical:
                categories[f] = max(categories.get(f, 0), *(len(s.left) for s in splits))
            else:
                edges.setdefault(f, []).append(_local_edges(splits))
    if any(len(k) > 1 for k in kinds.values()):
        return None
    return {
        f: _Feature(True, np.zeros(0), categories[f])
        if f in categories
        else _Feature(False, np.unique(np.concatenate(edges[f])), 0)
        for f in kinds
    }


def _plans(trees: list[dict[int, list[_Split]]], features: dict[int, _Feature]) -> list[_TreePlan]:
    plans = []
    for t, tree in enumerate(trees):
        used = tuple(sorted(tree))
        luts = tuple(
            _categorical_lut(features[f], tree[f])
            if features[f].categorical
            else _numerical_lut(features[f], tree[f])
            for f in used
        )
        plans.append(_tree_plan(t, used, luts))
    return plans


def _groups(plan: _TreePlan, bins: dict[int, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, one representative row per group) for one tree: rows with the same local code
    on every feature the tree splits on. The codes are combined in mixed radix into one key (int64 when
    int32 is too small), compacted to group numbers whenever the next radix would overflow it."""
    if plan.narrow is not None:
        narrow = np.zeros(n, dtype=np.int32)
        for f, scaled in zip(plan.features, plan.narrow, strict=True):
            narrow += scaled[bins[f]]
        return _numbered(narrow)
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for f, lut, radix in zip(plan.features, plan.luts, plan.radixes, strict=True):
        if size * radix >= _MAX_KEY:
            compact, uniques = pd.factorize(key)
            key[:] = compact
            size = len(uniques)
        key += (lut * size)[bins[f]]
        size *= radix
    return _numbered(key)


def _numbered(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group number of each key, one position per group): a hash factorisation, no sort."""
    codes, uniques = pd.factorize(key)
    representatives = np.empty(len(uniques), dtype=np.intp)
    representatives[codes] = np.arange(len(key))  # any member represents its group
    return codes, representatives


class _Accumulator:
    """Contributions of a share of the trees, feature-major (a feature's column is contiguous)."""

    def __init__(self, n_rows: int, n_columns: int):
        self.by_feature = np.zeros((n_columns, n_rows))
        self.bias: dict[int, float] = {}


def _run_trees(
    booster: lgb.Booster, X: np.ndarray, plans: list[_TreePlan], bins: dict[int, np.ndarray]
) -> _Accumulator:
    """Each tree's contributions for its representatives, by LightGBM, copied to their groups' rows.

    A tree contributes only to the features it splits on, and its bias (expected value) is the same for
    every row. LightGBM keeps a prediction's iteration range in the booster itself, so concurrent runs
    need a booster each."""
    n, width = X.shape
    acc = _Accumulator(n, width + 1)
    for plan in plans:
        codes, representatives = _groups(plan, bins, n)
        values = np.asarray(
            booster.predict(
                X[representatives],
                pred_contrib=True,
                start_iteration=plan.index,
                num_iteration=1,
                num_threads=1,
            ),
            dtype=float,
        )
        acc.bias[plan.index] = float(values[0, -1])
        by_group = np.ascontiguousarray(values[:, list(plan.features)].T)
        for f, group_values in zip(plan.features, by_group, strict=True):
            acc.by_feature[f] += group_values[codes]
    return acc


def _combine(parts: list[_Accumulator], n_trees: int) -> np.ndarray:
    """The workers' sums as rows x (features + 1), with the bias column: the trees' expected values added
    in tree order, as LightGBM adds them."""
    by_feature = parts[0].by_feature
    for part in parts[1:]:
        by_feature += part.by_feature
    bias = {t: value for part in parts for t, value in part.bias.items()}
    total = 0.0
    for t in range(n_trees):
        total += bias[t]
    by_feature[-1] = total
    return by_feature.T


@dataclass(frozen=True)
class _Model:
    """A booster's first `n_trees` trees, read once: the model text (for a booster per worker), the global
    bins of each feature split on, and each tree's plan."""

    text: str
    n_trees: int
    features: dict[int, _Feature]
    plans: list[_TreePlan]

    @classmethod
    def read(cls, booster: lgb.Booster, n_trees: int) -> _Model | None:
        """None when the model has something this module does not handle (then plain pred_contrib)."""
        text = booster.model_to_string(num_iteration=n_trees)
        parsed = _parse(text, n_trees)
        trees = None if parsed is None else _split_by_feature(parsed)
        features = None if trees is None else _features(trees)
        if trees is None or features is None:
            return None
        return cls(text, n_trees, features, _plans(trees, features))

    def contributions(
        self, boosters: list[lgb.Booster], X: np.ndarray, pool: ThreadPoolExecutor
    ) -> np.ndarray:
        """Contributions of the rows of `X`, the trees shared among `boosters` (one per worker of `pool`)."""
        bins = {f: feature.bins(X[:, f]) for f, feature in self.features.items()}
        k = len(boosters)
        parts = list(pool.map(lambda w: _run_trees(boosters[w], X, self.plans[w::k], bins), range(k)))
        return _combine(parts, self.n_trees)


def _n_trees(booster: lgb.Booster, num_iteration: int | None) -> int:
    """The trees `booster.predict(num_iteration=...)` uses (None: the best iteration, when there is one)."""
    total = booster.current_iteration()
    if num_iteration is None:
        num_iteration = booster.best_iteration
    return total if num_iteration is None or num_iteration <= 0 else min(num_iteration, total)


def _supported(booster: lgb.Booster, X: np.ndarray, n_trees: int) -> bool:
    """Whether the grouped computation applies: a 2-D input of the booster's width, large enough to gain,
    one tree per iteration (binary, regression; not multiclass)."""
    return (
        X.ndim == 2
        and len(X) >= MIN_ROWS
        and X.shape[1] == booster.num_feature()
        and booster.num_model_per_iteration() == 1
        and n_trees > 0
    )


def _predict(
    booster: lgb.Booster, X: np.ndarray, num_iteration: int | None, n_jobs: int | None, **kind: bool
) -> np.ndarray:
    threads: dict[str, Any] = {} if n_jobs is None else {"num_threads": n_jobs}
    return np.asarray(booster.predict(X, num_iteration=num_iteration, **threads, **kind), dtype=float)


def tree_contributions(
    booster: lgb.Booster, X: np.ndarray, num_iteration: int | None = None, n_jobs: int | None = None
) -> np.ndarray:
    """`booster.predict(X, pred_contrib=True, num_iteration=num_iteration)`: rows x (features + 1), bias
    last, the same numbers (to rounding), computed once per distinct decision pattern of each tree.

    `n_jobs` threads (default: all cores) share the trees; LightGBM's raw scores for the check are computed
    alongside. Rows go ROW_BLOCK at a time, which bounds the memory of the groups."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    n_trees = _n_trees(booster, num_iteration)
    model = _Model.read(booster, n_trees) if _supported(booster, X, n_trees) else None
    if model is None:
        return _predict(booster, X, num_iteration, n_jobs, pred_contrib=True)
    import lightgbm as lgb

    workers = max(1, min(n_jobs or os.cpu_count() or 1, n_trees))
    boosters = [lgb.Booster(model_str=model.text) for _ in range(workers)]
    out = np.empty((len(X), X.shape[1] + 1))
    with ThreadPoolExecutor(workers + (n_jobs != 1)) as pool:  # n_jobs=1: the check first, then the trees
        raw = pool.submit(_predict, booster, X, num_iteration, n_jobs, raw_score=True)
        for start in range(0, len(X), ROW_BLOCK):
            block = slice(start, start + ROW_BLOCK)
            out[block] = model.contributions(boosters, X[block], pool)
        raw_score = raw.result()
    wrong = np.flatnonzero(~(np.abs(out.sum(axis=1) - raw_score) <= SUM_TOLERANCE))
    if len(wrong):  # never seen; kept so that a grouping error can only cost time
        out[wrong] = _predict(booster, X[wrong], num_iteration, n_jobs, pred_contrib=True)
    return out
