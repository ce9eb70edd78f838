"""What a model run keeps about its test slice: curves, gain and lift, the confusion matrix at the action
threshold, a SHAP beeswarm and the predictions themselves. Pure functions of the training result and the
training set; `Tracker.log_evaluation` writes them into the run.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from potential.labels.training_set import TrainingSet
from potential.models.training import TargetResult
from potential.scoring.explain import log_odds_contributions

SHAP_ROWS = 2000  # rows of the test slice drawn for the beeswarm (pred_contrib grows with rows x trees)


@dataclass
class Evaluation:
    """Metrics and files (name -> bytes) of one model on its test slice."""

    metrics: dict[str, float] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def gain_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per score decile (1 = highest scores): accounts, positives, rate, lift and the cumulative gain."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(p, dtype=float), kind="mergesort")
    decile = np.empty(len(y), dtype=int)
    decile[order] = np.minimum(np.arange(len(y)) * bins // max(len(y), 1), bins - 1) + 1
    frame = pd.DataFrame({"decile": decile, "y": y})
    table = frame.groupby("decile").agg(accounts=("y", "size"), positives=("y", "sum")).reset_index()
    base = y.mean() if len(y) else float("nan")
    table["rate"] = table["positives"] / table["accounts"]
    table["lift"] = table["rate"] / base if base > 0 else np.nan
    table["cumulative_share_of_accounts"] = table["accounts"].cumsum() / max(len(y), 1)
    total = table["positives"].sum()
    table["cumulative_share_of_positives"] = table["positives"].cumsum() / total if total else np.nan
    return table


def confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> pd.DataFrame:
    """2x2 counts: rows actual (no, yes), columns predicted (score < threshold, score >= threshold)."""
    y = np.asarray(y, dtype=int)
    hit = np.asarray(p, dtype=float) >= threshold
    return pd.DataFrame(
        [
            [int(np.sum((y == 0) & ~hit)), int(np.sum((y == 0) & hit))],
            [int(np.sum((y == 1) & ~hit)), int(np.sum((y == 1) & hit))],
        ],
        index=["actual no", "actual yes"],
        columns=[f"< {threshold:g}", f">= {threshold:g}"],
    )


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _test_rows(result: TargetResult, ts: TrainingSet) -> tuple[pd.DataFrame, np.ndarray]:
    return ts.features.loc[result.test_index], ts.labels.loc[result.test_index, result.target].to_numpy(float)


def evaluate_classifier(
    result: TargetResult, ts: TrainingSet, threshold: float, rule: str, seed: int = 0
) -> Evaluation:
    """Curves, gain/lift, the confusion matrix at the action's threshold, beeswarm and predictions."""
    from potential.tracking import plots

    target = result.target
    features, y = _test_rows(result, ts)
    p = np.asarray(result.test_scores, dtype=float)
    out = Evaluation()
    roc, pr = plots.roc_pr_png(y, p, target)
    out.files["roc_curve.png"] = roc
    out.files["pr_curve.png"] = pr
    gains = gain_table(y, p)
    out.files["gain_lift.png"] = plots.gain_lift_png(gains, target)
    out.files["gain_lift.csv"] = gains.to_csv(index=False).encode()
    matrix = confusion(y, p, threshold)
    out.files["confusion_matrix.png"] = plots.confusion_png(
        matrix, f"{target}: {rule} threshold {threshold:g} (test slice)"
    )
    out.files["confusion_matrix.csv"] = matrix.to_csv().encode()
    tn, fp, fn, tp = (float(v) for v in matrix.to_numpy().ravel())
    out.metrics.update(
        {
            "threshold": threshold,
            "threshold_precision": tp / (tp + fp) if tp + fp else float("nan"),
            "threshold_recall": tp / (tp + fn) if tp + fn else float("nan"),
            "threshold_flagged_share": (tp + fp) / max(len(y), 1),
        }
    )
    raw = result.model.raw(features)
    ids = result.test_index
    predictions = pd.DataFrame(
        {
            "account_id": ids.get_level_values("account_id").astype(str),
            "cutoff": ids.get_level_values("cutoff"),
            "label": y,
            f"{target}_probability": p,
            "raw_score": raw,
        }
    )
    out.files["test_predictions.parquet"] = _parquet(predictions)
    sample = features
    if len(features) > SHAP_ROWS:
        take = np.sort(np.random.default_rng(seed).choice(len(features), SHAP_ROWS, replace=False))
        sample = features.iloc[take]
    encoded = result.model.spec.encode(sample)
    phi = log_odds_contributions(result.model, encoded.to_numpy(dtype=np.float64))
    columns = list(result.model.spec.columns)
    out.files["shap_beeswarm.png"] = plots.beeswarm_png(
        pd.DataFrame(phi[:, :-1], columns=columns),
        pd.DataFrame(encoded.to_numpy(), columns=columns),
        f"{target}: SHAP values on the test slice ({len(sample):,} rows)",
    )
    return out


def evaluate_uplift(result: TargetResult, ts: TrainingSet) -> Evaluation:
    """Predicted vs actual uplift on the expanding rows of the test slice (what the regressor learns)."""
    from potential.tracking import plots

    out = Evaluation()
    if result.uplift is None:
        return out
    features, y = _test_rows(result, ts)
    expanded = y == 1
    if not expanded.any():
        return out
    rows = result.test_index[expanded]
    actual = ts.labels.loc[rows, "uplift"].clip(lower=0).to_numpy(dtype=float)
    predicted = result.uplift.predict(features[expanded])
    out.files["test_predictions.parquet"] = _parquet(
        pd.DataFrame(
            {
                "account_id": rows.get_level_values("account_id").astype(str),
                "cutoff": rows.get_level_values("cutoff"),
                "actual_uplift": actual,
                "expected_uplift": predicted,
            }
        )
    )
    out.files["uplift_predicted_vs_actual.png"] = plots.uplift_png(
        actual, predicted, f"uplift: predicted vs actual ({len(rows):,} expanding test rows)"
    )
    return out
