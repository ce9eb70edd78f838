"""Explanations: per-account feature contributions in probability points, and the plain-English reasons.

Method. LightGBM's `pred_contrib` gives exact TreeSHAP values in log-odds: raw(x) = phi_0 + sum_j phi_j(x) (for a
blend with a logistic regression, its exact linear terms are added, both weighted as the blend weighs them). The
calibrated probability is p(x) = cal(sigmoid(raw(x))) and the base is b = cal(sigmoid(phi_0)), the
probability of an account at the model's expected raw score. Each account's log-odds contributions are
rescaled by the same factor, (p(x) - b) / sum_j phi_j(x), so that b + sum_j c_j(x) = p(x) exactly while signs
and proportions are kept. The calibration maps are monotone, so p(x) - b has the sign of sum_j phi_j(x);
where that sum is ~0 the account sits at the base and every contribution is ~0.

Nested windows of one signal (spend over 30 ... 730 days and over the whole history; meetings over 90 and
365 days) are explained as one (`pool_windows`). The windows overlap, so a model can give two of them large
opposite parts that mostly cancel: "0 meetings in the last 365 days" raising expansion while "0 meetings in
the last 90 days" lowers it by nearly as much. Each account's points of such a family are put on the one
window that moves it most in the family's net direction, the others get 0: the family says what it adds in
all, and every account's points still add up to its probability.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from potential.features.registry import phrase, speaks_to
from potential.models.training import TrainedModel
from potential.scoring.treeshap import tree_contributions


def _encoded(model: TrainedModel, features: pd.DataFrame) -> np.ndarray:
    return model.spec.encode(features).to_numpy(dtype=np.float64)


def _calibrated(model: TrainedModel, X: np.ndarray, n_jobs: int | None) -> np.ndarray:
    """The calibrated probability of each row of `X`, computed as `TrainedModel.predict` does."""
    raw_prob = model.raw_encoded(X, n_jobs)
    return model.calibrator(raw_prob) if model.calibrator is not None else raw_prob


def log_odds_contributions(model: TrainedModel, X: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
    """Exact SHAP values of the model's log-odds [rows x (features + 1)], the bias last: TreeSHAP's for the
    booster (`treeshap.tree_contributions`) and, for a blend, the linear half's exact terms, each weighted
    as the blend weighs its log-odds. A row adds up to its blended log-odds."""
    phi = tree_contributions(model.booster, X, model.booster.best_iteration or None, n_jobs)
    if model.linear is None:
        return phi
    w = model.linear_weight
    terms, base = model.linear.contributions(X)
    phi *= 1.0 - w
    phi[:, :-1] += w * terms
    phi[:, -1] += w * base
    return phi


def probabilities(model: TrainedModel, features: pd.DataFrame, n_jobs: int | None = None) -> np.ndarray:
    """Calibrated probabilities, the same numbers `contributions` returns, without the TreeSHAP pass (a plain
    prediction costs about 1% of the contributions)."""
    return _calibrated(model, _encoded(model, features), n_jobs)


def contributions(
    model: TrainedModel, features: pd.DataFrame, n_jobs: int | None = None
) -> tuple[pd.DataFrame, np.ndarray, float]:
    """(contributions in probability points per feature [accounts x features], probabilities, base).

    LightGBM's TreeSHAP gives the booster's contributions, computed once per distinct decision pattern of each
    tree (`treeshap.tree_contributions`, the same numbers), a blend adds its linear terms
    (`log_odds_contributions`); the probability is the model's own prediction (`TrainedModel.raw_encoded`),
    calibrated (`probabilities`, so a score computed with or without explanations is the same number).
    `n_jobs` threads (default: LightGBM's, all cores).
    """
    X = _encoded(model, features)
    phi = log_odds_contributions(model, X, n_jobs)
    prob = _calibrated(model, X, n_jobs)
    bias = float(phi[0, -1]) if len(phi) else 0.0
    phi_features = phi[:, :-1]
    base = float(expit(bias))
    if model.calibrator:
        base = float(model.calibrator(np.array([base]))[0])
    total = phi_features.sum(axis=1)
    delta = prob - base
    scale = np.divide(delta, total, out=np.zeros_like(delta), where=np.abs(total) > 1e-12)
    points = phi_features * scale[:, None]
    # accounts whose log-odds sum is ~0 but whose probability differs (a calibration step): spread by |phi|
    stuck = (np.abs(total) <= 1e-12) & (np.abs(delta) > 0)
    if stuck.any():
        weights = np.abs(phi_features[stuck])
        norm = weights.sum(axis=1, keepdims=True)
        points[stuck] = (
            np.where(norm > 0, weights / np.where(norm > 0, norm, 1), 1.0 / phi_features.shape[1])
            * delta[stuck, None]
        )
    points = pool_windows(points, window_families(model.spec.columns))
    frame = pd.DataFrame(points, index=features.index, columns=list(model.spec.columns))
    return frame, prob, base


_WINDOWED = re.compile(r"^(?P<signal>.+)_(?:\d+d|lifetime)$")  # spend_90d, spend_lifetime, meeting_365d


def window_families(columns: Sequence[str]) -> list[np.ndarray]:
    """Positions of the columns that measure one signal over several windows (`<signal>_<n>d`,
    `<signal>_lifetime`): one array per signal with two or more of them."""
    families: dict[str, list[int]] = {}
    for j, column in enumerate(columns):
        match = _WINDOWED.match(str(column))
        if match:
            families.setdefault(match["signal"], []).append(j)
    return [np.asarray(members) for members in families.values() if len(members) > 1]


def pool_windows(points: np.ndarray, families: list[np.ndarray]) -> np.ndarray:
    """Each row's points of each family on one member: the one moving the row most in the direction of the
    family's sum (the largest in size when the sum is 0); the other members get 0. Row sums are unchanged."""
    out = np.array(points, dtype=float, copy=True)
    rows = np.arange(len(out))
    for members in families:
        part = out[:, members]
        total = part.sum(axis=1)
        # members pulling against the family's sum cannot carry it
        size = np.where(np.sign(part) == np.sign(total)[:, None], np.abs(part), -np.inf)
        size = np.where(np.isfinite(size).any(axis=1)[:, None], size, np.abs(part))
        carrier = members[np.argmax(size, axis=1)]
        out[:, members] = 0.0
        out[rows, carrier] = total
    return out


def _account_ids(points: pd.DataFrame) -> pd.Index:
    """The account of each row: the index, or its account_id level (training rows: account x cutoff)."""
    if "account_id" in (points.index.names or []):
        return points.index.get_level_values("account_id")
    return points.index


def _words(words: list[str], positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """`words[positions]` as a text column (pandas' default string dtype): a take on the distinct words, so
    a table of millions of rows converts each distinct word once, not each row."""
    return pd.Series(np.asarray(words, dtype=object)).array.take(positions)


def long_explanations(
    target: str, points: pd.DataFrame, features: pd.DataFrame, base: float, min_abs: float = 0.0
) -> pd.DataFrame:
    """Long format: account_id, target, feature, value, value_text, contribution, base (all features kept, so
    base + sum(contribution) equals the probability)."""
    n, k = points.shape
    accounts = [str(a) for a in _account_ids(points)]
    values = features.reindex(columns=points.columns)
    values.index = points.index
    numeric = np.full((n, k), np.nan)
    texts = [""]  # the distinct value texts; position 0 is the blank of a numeric feature
    text_code = np.zeros((n, k), dtype=np.int64)
    for j, column in enumerate(points.columns):
        col = values[column]
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object:
            codes, uniques = pd.factorize(col.astype(object).where(col.notna(), "").astype(str).to_numpy())
            text_code[:, j] = codes + len(texts)
            texts += [str(u) for u in uniques]
        else:
            numeric[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "account_id": _words(accounts, np.repeat(np.arange(n), k)),
            "target": target,
            "feature": _words([str(c) for c in points.columns], np.tile(np.arange(k), n)),
            "value": numeric.ravel(),
            "value_text": _words(texts, text_code.ravel()),
            "contribution": points.to_numpy().ravel(),
            "base": base,
        }
    )
    return frame


MIN_DRIVER_POINTS = 0.0005  # a driver moves its probability by at least this (0.05 points)


def _strongest(points: np.ndarray, names: list[str], allowed: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """(row, column, place) of the k largest |contribution|s of `points` [rows x features] in each row, among
    the `allowed` features at or above MIN_DRIVER_POINTS; largest first, ties to the first feature name.
    When none of the k raises the probability and a smaller one does, the strongest such takes the k-th
    place (`top_drivers`)."""
    by_name = np.argsort(np.asarray(names, dtype=object), kind="stable")
    size = np.abs(points)
    eligible = (size >= MIN_DRIVER_POINTS) & allowed[None, :]  # NaN (an absent cell) is never eligible
    masked = np.where(eligible, size, -1.0)[:, by_name]
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    raising = np.where(points[:, by_name] > 0, masked, -1.0)
    best = np.argmax(raising, axis=1)  # the first of equal sizes: the first name
    has_raising = raising[np.arange(len(raising)), best] >= 0
    in_top = (np.take_along_axis(raising, order, axis=1) >= 0).any(axis=1)
    swap = has_raising & ~in_top & (order.shape[1] == k)
    if k > 0:
        order[swap, k - 1] = best[swap]
    rows, place = np.nonzero(np.take_along_axis(masked, order, axis=1) >= 0)
    return rows, by_name[order[rows, place]], place


def _ordered_drivers(long: pd.DataFrame, position: np.ndarray, keys: list[np.ndarray]) -> pd.DataFrame:
    """The rows of `long` at `position`, sorted by `keys` (most significant first), with their phrases."""
    top = long.iloc[position[np.lexsort(keys[::-1])]].reset_index(drop=True)
    said: dict[tuple[str, object], str] = {}
    phrases = []
    for f, v, t in zip(
        top["feature"].tolist(), top["value"].tolist(), top["value_text"].tolist(), strict=True
    ):
        key = (f, t if t else v)  # one phrase per distinct feature value
        if key not in said:
            said[key] = phrase(*key)
        phrases.append(said[key])
    return top.assign(phrase=phrases)


def top_drivers(long: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The k largest |contribution| rows per account and target, with their phrase, among the features that
    may be named as a reason for that target (`features.registry.speaks_to`) and move it by at least
    MIN_DRIVER_POINTS; sorted by account, target, |contribution| (largest first), feature.

    When none of the k raises the target's probability and a smaller driver does, the strongest raising
    one takes the k-th place: an account singled out for that target can show why (`reason_items` puts
    the raising drivers of its leading target first), even when larger factors hold its probability back.

    Any long table (an account may have several rows per feature, e.g. one per cutoff); `explained_drivers`
    gives the same rows faster from the contribution matrices.
    """
    if long.empty:
        return long.assign(phrase=pd.Series(dtype=str))
    feature_code, features = pd.factorize(long["feature"], sort=True)
    target_code, targets = pd.factorize(long["target"], sort=True)
    allowed = np.array([[speaks_to(str(f), str(t)) for t in targets] for f in features], dtype=bool)
    size = np.abs(long["contribution"].to_numpy(dtype=float))
    # a row below the floor never beats one above it, so dropping it first leaves the same top k
    rows = np.flatnonzero(allowed[feature_code, target_code] & (size >= MIN_DRIVER_POINTS))
    account_code, _ = pd.factorize(long["account_id"].to_numpy()[rows], sort=True)
    feature_code, target_code, size = feature_code[rows], target_code[rows], size[rows]
    order = np.lexsort((feature_code, -size, target_code, account_code))
    group = account_code[order].astype(np.int64) * len(targets) + target_code[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    place = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    chosen = place < k
    if k > 0 and len(order):
        # the strongest raising driver takes the k-th place of a group whose k strongest all lower it
        raising = long["contribution"].to_numpy(dtype=float)[rows][order] > 0
        first_up = np.minimum.reduceat(np.where(raising, place, np.iinfo(np.int64).max), starts)
        late = np.flatnonzero((first_up >= k) & (first_up < np.iinfo(np.int64).max))
        chosen[starts[late] + k - 1] = False
        chosen[starts[late] + first_up[late]] = True
    picked = order[chosen]
    return _ordered_drivers(long, rows[picked], [np.arange(len(picked))])


def explained_drivers(parts: list[tuple[str, pd.DataFrame]], long: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """`top_drivers(long)` for a long table that is the concatenation of `long_explanations(target, points,
    ...)` of each (target, points) of `parts`, in that order: read from the points matrices directly, a sort
    of each account's few dozen features instead of one of the whole long table (accounts x features x
    targets rows). Points with an account on several rows go through `top_drivers`."""
    if long.empty or any(not _account_ids(points).is_unique for _, points in parts):
        return top_drivers(long, k)
    offset = 0
    positions, keys = [], []
    order = np.argsort([target for target, _ in parts], kind="stable")
    place_of_target = np.empty(len(parts), dtype=np.int64)
    place_of_target[order] = np.arange(len(parts))
    for (target, points), target_place in zip(parts, place_of_target, strict=True):
        n, width = points.shape
        names = [str(c) for c in points.columns]
        allowed = np.array([speaks_to(f, target) for f in names], dtype=bool)
        rows, columns, place = _strongest(points.to_numpy(dtype=float), names, allowed, k)
        account = np.asarray([str(a) for a in _account_ids(points)], dtype=object)
        positions.append(offset + rows * width + columns)
        keys.append((account[rows], np.full(len(rows), target_place), place))
        offset += n * width
    account_rank, _ = pd.factorize(np.concatenate([key[0] for key in keys]), sort=True)
    return _ordered_drivers(
        long,
        np.concatenate(positions),
        [account_rank, *(np.concatenate([key[i] for key in keys]) for i in (1, 2))],
    )


REASON_SLOTS = 3  # reasons per account, in `reasons` and in the reason_<i> columns
REASON_FIELDS = ("", "_points", "_source", "_target")
REASON_COLUMNS: tuple[str, ...] = tuple(
    f"reason_{i}{field}" for i in range(1, REASON_SLOTS + 1) for field in REASON_FIELDS
)
_TARGET_LABEL = {"churn": "churn risk", "expansion": "expansion"}
ITEM_COLUMNS = ("account_id", "position", "phrase", "points", "source", "target", "text")


def _strongest_first(
    frame: pd.DataFrame, column: str, ties: list[str], slots: int, later: np.ndarray | None = None
) -> pd.DataFrame:
    """Each account's rows by |column|, largest first (ties by `ties`), at most `slots` per account; rows
    come in groups of `later` (0 first, then 1, ...), by |column| within each group."""
    later = np.zeros(len(frame), dtype=np.int64) if later is None else later
    ordered = frame.assign(_later=later, _size=frame[column].abs()).sort_values(
        ["account_id", "_later", "_size", *ties],
        ascending=[True, True, False, *[True] * len(ties)],
        kind="mergesort",
    )
    return ordered.drop(columns=["_later", "_size"]).groupby("account_id", sort=False).head(slots)


def _candidates(
    frame: pd.DataFrame,
    phrase: str,
    points: pd.Series,
    source: str,
    targets: np.ndarray | list[str],
    labels: list[str],
) -> pd.DataFrame:
    """Reason rows (ITEM_COLUMNS but position) of `frame`'s rows: the `phrase` column, `points` rounded to
    one decimal, and the text "phrase (label +1.0 pts)"."""
    rounded = points.to_numpy(dtype=float).round(1)
    phrases = frame[phrase].astype(str).to_numpy()
    return pd.DataFrame(
        {
            "account_id": frame["account_id"].astype(str).to_numpy(),
            "phrase": phrases,
            "points": rounded,
            "source": source,
            "target": targets,
            "text": [f"{p} ({lab} {c:+.1f} pts)" for p, lab, c in zip(phrases, labels, rounded, strict=True)],
        }
    )


def reason_items(
    drivers: pd.DataFrame,
    rating: pd.DataFrame | None,
    account_ids: pd.Index,
    k_model: int = 2,
    k_rating: int = 1,
    slots: int = REASON_SLOTS,
    lead: pd.Series | None = None,
) -> pd.DataFrame:
    """The reasons of each account as rows, in the order they are shown. The one place that chooses them.

    Columns: account_id, position (1 = first), phrase, points, source ("model" or "rating"), target
    ("churn" or "expansion" for a model driver, "" for a rating criterion) and text, the item as `reasons`
    shows it ("Spend fell 38% vs the previous 90 days (churn risk +12.0 pts)").

    Points are signed and rounded to one decimal, as the text shows them: for a model driver, probability
    points of that target's calibrated probability (its SHAP contribution x 100: +12.0 = the driver adds 12
    percentage points to P(churn)); for a rating criterion, points of the 0-100 rating score.

    Choice: model drivers first, strongest |points| first, then rating criteria, strongest first. An account
    gets up to `k_model` drivers and `k_rating` criteria; when one source has fewer, the other fills the free
    slots, up to `slots` in all. Accounts of `account_ids` without any reason have no rows.

    `lead` (account_id -> "churn" or "expansion", `lead_targets`) puts the drivers of the account's leading
    target before the other target's, and among them those that raise its probability before those that
    lower it: an account singled out for growth shows why it may grow, one at risk why it may leave, even
    when the other target's drivers or the factors holding the probability back carry more points (churn
    probabilities are larger, so its points usually are; correlated features can carry large opposite
    points, e.g. the spend of the last 180 days against the spend over the whole history).
    """
    candidates = []  # every possible reason of an account, each source's strongest first
    if not drivers.empty:
        later = None
        if lead is not None:
            leading = drivers["account_id"].astype(str).map(lead).to_numpy()
            led = (drivers["target"].astype(str).to_numpy() == leading) & pd.notna(leading)
            raising = drivers["contribution"].to_numpy(dtype=float) > 0
            # 0: raises the leading target, 1: holds it back, 2: the other target's (no lead: all 0)
            later = np.where(led, np.where(raising, 0, 1), 2) * pd.notna(leading)
        d = _strongest_first(drivers, "contribution", ["target", "feature"], slots, later)
        targets = d["target"].astype(str).to_numpy()
        labels = [_TARGET_LABEL.get(t, t) for t in targets]
        candidates.append(_candidates(d, "phrase", d["contribution"] * 100, "model", targets, labels))
    if rating is not None and not rating.empty:
        known = rating[rating["known"].astype(bool) & (rating["points"].abs() > 0)]
        known = _strongest_first(known, "points", ["criterion"], slots)
        n = len(known)
        candidates.append(_candidates(known, "sentence", known["points"], "rating", [""] * n, ["rating"] * n))
    ids = pd.Index([str(a) for a in account_ids])
    if not candidates:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "points" else object) for c in ITEM_COLUMNS})
    rows = pd.concat(candidates, ignore_index=True)
    rows = rows[rows["account_id"].isin(ids)]
    # slots per source: the rating gets k_rating, or more when the model has fewer than its share
    is_model = (rows["source"] == "model").to_numpy()
    n_model = rows.loc[is_model].groupby("account_id").size().reindex(rows["account_id"]).fillna(0)
    n_rating = rows.loc[~is_model].groupby("account_id").size().reindex(rows["account_id"]).fillna(0)
    take_rating = np.minimum(n_rating.to_numpy(), np.maximum(k_rating, slots - n_model.to_numpy()))
    take_model = np.minimum(n_model.to_numpy(), slots - take_rating)
    within = rows.groupby(["account_id", "source"], sort=False).cumcount().to_numpy()
    keep = np.where(is_model, within < take_model, within < take_rating)
    chosen = rows[keep]
    # model first, then rating; inside each source the order of strength built above
    chosen = chosen.assign(_rating=chosen["source"] != "model", _order=np.arange(len(chosen)))
    chosen = chosen.assign(_account=pd.Categorical(chosen["account_id"], categories=ids, ordered=True))
    chosen = chosen.sort_values(["_account", "_rating", "_order"], kind="mergesort")
    chosen = chosen.assign(position=chosen.groupby("account_id", sort=False).cumcount() + 1)
    return chosen[list(ITEM_COLUMNS)].reset_index(drop=True)


def lead_targets(probabilities: pd.DataFrame, base: dict[str, float]) -> pd.Series:
    """Per account (index of `probabilities`, as str): the target whose probability stands highest over the
    model's own base probability (`base`, the calibrated probability of the average account): "expansion"
    for an account 3x as likely as usual to expand and 1.5x as likely to churn. A model constant, not a
    portfolio statistic, so a partition of the accounts leads the same way as the whole. Accounts without
    both probabilities lead with nothing (missing)."""
    lifts = {
        t: probabilities[f"{t}_probability"].astype(float) / base[t]
        for t in ("churn", "expansion")
        if f"{t}_probability" in probabilities.columns and base.get(t, 0) > 0
    }
    index = probabilities.index.astype(str)
    if len(lifts) < 2:
        return pd.Series(np.nan, index=index, dtype=object)
    churn, expansion = (lifts[t].to_numpy() for t in ("churn", "expansion"))
    both = np.isfinite(churn) & np.isfinite(expansion)
    lead = np.where(expansion > churn, "expansion", "churn").astype(object)
    return pd.Series(np.where(both, lead, None), index=index, dtype=object)


def reasons_text(items: pd.DataFrame, account_ids: pd.Index) -> pd.Series:
    """`reasons` of each account: its items' texts in order, joined with "; " ("" when it has none)."""
    ids = [str(a) for a in account_ids]
    if items.empty:
        return pd.Series("", index=ids, name="reasons", dtype=object)
    joined = items.groupby("account_id", sort=False)["text"].agg("; ".join)
    out = joined.reindex(ids).fillna("").rename("reasons")
    out.index.name = None
    return out


def reason_columns(items: pd.DataFrame, account_ids: pd.Index) -> pd.DataFrame:
    """The items as the REASON_COLUMNS of the target list, one row per account of `account_ids`.

    reason_<i> is the phrase, reason_<i>_points its signed points, reason_<i>_source "model" or "rating" and
    reason_<i>_target the model's target ("churn" / "expansion"; "" for rating). Slots an account does not
    fill are blank: "" for text, NaN for points.
    """
    ids = [str(a) for a in account_ids]
    out = pd.DataFrame(index=ids)
    for i in range(1, REASON_SLOTS + 1):
        slot = items[items["position"] == i].set_index("account_id") if len(items) else None
        for field, column, blank in (
            ("", "phrase", ""),
            ("_points", "points", np.nan),
            ("_source", "source", ""),
            ("_target", "target", ""),
        ):
            if slot is None:
                values = pd.Series(blank, index=ids, dtype=float if field == "_points" else object)
            else:
                values = slot[column].reindex(ids)
                values = values.astype(float) if field == "_points" else values.fillna("").astype(object)
            out[f"reason_{i}{field}"] = values.to_numpy()
    return out[list(REASON_COLUMNS)]


def build_reasons(
    drivers: pd.DataFrame,
    rating: pd.DataFrame | None,
    account_ids: pd.Index,
    k_model: int = 2,
    k_rating: int = 1,
) -> pd.Series:
    """One short plain-English list per account: top model drivers, then top rating criteria, signed points
    (the items and their order: `reason_items`).

    Model points are probability points of the target named ("churn risk +12.0 pts"); rating points are
    rating-score points.
    """
    return reasons_text(reason_items(drivers, rating, account_ids, k_model, k_rating), account_ids)
