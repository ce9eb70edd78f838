"""Explanations: per-account feature contributions in probability points, and the plain-English reasons.

Method. LightGBM's `pred_contrib` gives exact TreeSHAP values in log-odds: raw(x) = phi_0 + sum_j phi_j(x). The
calibrated probability is p(x) = cal(sigmoid(raw(x))) and the base is b = cal(sigmoid(phi_0)), the
probability of an account at the model's expected raw score. Each account's log-odds contributions are
rescaled by the same factor, (p(x) - b) / sum_j phi_j(x), so that b + sum_j c_j(x) = p(x) exactly while signs
and proportions are kept. The calibration maps are monotone, so p(x) - b has the sign of sum_j phi_j(x);
where that sum is ~0 the account sits at the base and every contribution is ~0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from potential.features.registry import phrase, speaks_to
from potential.models.training import TrainedModel


def contributions(
    model: TrainedModel, features: pd.DataFrame, n_jobs: int | None = None
) -> tuple[pd.DataFrame, np.ndarray, float]:
    """(contributions in probability points per feature [accounts x features], probabilities, base).

    One TreeSHAP pass gives both: the probability is the calibrated sigmoid of the contributions' sum, so
    the booster is never asked for a separate prediction. `n_jobs` threads (default: LightGBM's, all cores).
    """
    X = model.spec.encode(features).to_numpy(dtype=np.float64)
    booster = model.booster
    threads = {} if n_jobs is None else {"num_threads": n_jobs}
    phi = booster.predict(X, pred_contrib=True, num_iteration=booster.best_iteration or None, **threads)
    phi = np.asarray(phi, dtype=float)
    bias = float(phi[0, -1]) if len(phi) else 0.0
    phi_features = phi[:, :-1]
    raw_prob = 1.0 / (1.0 + np.exp(-phi.sum(axis=1)))
    prob = model.calibrator(raw_prob) if model.calibrator is not None else raw_prob
    base = (
        float(model.calibrator(np.array([1.0 / (1.0 + np.exp(-bias))]))[0])
        if model.calibrator
        else 1.0 / (1.0 + np.exp(-bias))
    )
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
    frame = pd.DataFrame(points, index=features.index, columns=list(model.spec.columns))
    return frame, prob, base


def long_explanations(
    target: str, points: pd.DataFrame, features: pd.DataFrame, base: float, min_abs: float = 0.0
) -> pd.DataFrame:
    """Long format: account_id, target, feature, value, value_text, contribution, base (all features kept, so
    base + sum(contribution) equals the probability)."""
    n, k = points.shape
    feature_names = np.tile(points.columns.to_numpy(), n)
    ids = (
        points.index.get_level_values("account_id")
        if "account_id" in (points.index.names or [])
        else points.index
    )
    account = np.repeat(np.asarray(ids, dtype=object), k)
    values = features.reindex(columns=points.columns)
    values.index = points.index
    numeric = np.full((n, k), np.nan)
    text = np.empty((n, k), dtype=object)
    for j, column in enumerate(points.columns):
        col = values[column]
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object:
            text[:, j] = col.astype(object).where(col.notna(), "").astype(str).to_numpy()
        else:
            numeric[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            text[:, j] = ""
    frame = pd.DataFrame(
        {
            "account_id": account.astype(str),
            "target": target,
            "feature": feature_names,
            "value": numeric.ravel(),
            "value_text": text.ravel(),
            "contribution": points.to_numpy().ravel(),
            "base": base,
        }
    )
    return frame


def top_drivers(long: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The k largest |contribution| rows per account and target, with their phrase, among the features that
    may be named as a reason for that target (`features.registry.speaks_to`)."""
    if long.empty:
        return long.assign(phrase=pd.Series(dtype=str))
    pairs = long[["feature", "target"]].drop_duplicates()
    allowed = {(f, t) for f, t in zip(pairs["feature"], pairs["target"], strict=True) if speaks_to(f, t)}
    keep = [(f, t) in allowed for f, t in zip(long["feature"], long["target"], strict=True)]
    ranked = long[keep].assign(abs_c=long.loc[keep, "contribution"].abs())
    ranked = ranked.sort_values(
        ["account_id", "target", "abs_c", "feature"], ascending=[True, True, False, True], kind="mergesort"
    )
    top = ranked.groupby(["account_id", "target"], sort=False).head(k).drop(columns="abs_c")
    top = top[top["contribution"].abs() >= 0.0005]
    top = top.assign(
        phrase=[
            phrase(f, t if t else v)
            for f, v, t in zip(top["feature"], top["value"], top["value_text"], strict=True)
        ]
    )
    return top.reset_index(drop=True)


def build_reasons(
    drivers: pd.DataFrame, rating: pd.DataFrame, account_ids: pd.Index, k_model: int = 3, k_rating: int = 2
) -> pd.Series:
    """One short plain-English list per account: top model drivers and top rating criteria, signed points.

    Model points are probability points of the target named ("churn risk +12 pts"); rating points are
    rating-score points. The one function that builds `reasons`.
    """
    label = {"churn": "churn risk", "expansion": "expansion"}
    pieces = []  # (account_id, text) rows: model drivers first, then rating criteria, each strongest first
    if not drivers.empty:
        d = drivers.assign(abs_c=drivers["contribution"].abs()).sort_values(
            ["account_id", "abs_c", "target", "feature"],
            ascending=[True, False, True, True],
            kind="mergesort",
        )
        d = d.groupby("account_id", sort=False).head(k_model)
        text = [
            f"{p} ({label.get(t, t)} {c * 100:+.1f} pts)"
            for p, t, c in zip(d["phrase"], d["target"], d["contribution"], strict=True)
        ]
        pieces.append(pd.DataFrame({"account_id": d["account_id"].astype(str).to_numpy(), "text": text}))
    if rating is not None and not rating.empty:
        known = rating[rating["known"] & (rating["points"].abs() > 0)]
        known = known.assign(abs_p=known["points"].abs()).sort_values(
            ["account_id", "abs_p", "criterion"], ascending=[True, False, True], kind="mergesort"
        )
        known = known.groupby("account_id", sort=False).head(k_rating)
        text = [f"{s} (rating {p:+.1f} pts)" for s, p in zip(known["sentence"], known["points"], strict=True)]
        pieces.append(pd.DataFrame({"account_id": known["account_id"].astype(str).to_numpy(), "text": text}))
    ids = [str(a) for a in account_ids]
    if not pieces:
        return pd.Series("", index=ids, name="reasons")
    rows = pd.concat(pieces, ignore_index=True)
    joined = rows.groupby("account_id", sort=False)["text"].agg("; ".join)
    out = joined.reindex(ids).fillna("").rename("reasons")
    out.index.name = None
    return out
