"""Static PNG plots for the tracking store (importance, calibration, ROC/PR, gain, confusion, beeswarm). Returns bytes; never writes files."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def importance_png(importance: pd.DataFrame, title: str, top: int = 20) -> bytes:
    data = importance.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(data) + 1.2))
    ax.barh([f"{f}" for f in data["feature"]], data["gain"], color="#2f6db5")
    ax.set_xlabel("total gain")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


def calibration_png(table: pd.DataFrame, title: str) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", label="perfect")
    ax.plot(table["predicted"], table["observed"], marker="o", color="#2f6db5", label="model (test slice)")
    for _, row in table.iterrows():
        ax.annotate(
            f"n={int(row['n'])}",
            (row["predicted"], row["observed"]),
            fontsize=7,
            xytext=(4, -10),
            textcoords="offset points",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return _png(fig)


def shap_summary_png(explanations: pd.DataFrame, title: str, top: int = 15) -> bytes:
    """Mean absolute contribution (probability points) per feature."""
    summary = (
        explanations.assign(abs_pts=explanations["contribution"].abs() * 100)
        .groupby("feature")["abs_pts"]
        .mean()
        .sort_values(ascending=True)
        .tail(top)
    )
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(summary) + 1.2))
    ax.barh(summary.index, summary.to_numpy(), color="#b5562f")
    ax.set_xlabel("mean |contribution| (probability points)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def roc_pr_png(y: np.ndarray, p: np.ndarray, title: str) -> tuple[bytes, bytes]:
    """ROC and precision-recall curves of one model on the test slice (two PNGs)."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", label="random")
    ax.plot(fpr, tpr, color="#2f6db5", label=f"model (AUC {auc(fpr, tpr):.3f})")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{title}: ROC (test slice)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    roc = _png(fig)
    precision, recall, _ = precision_recall_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.axhline(float(np.mean(y)), ls="--", color="#999999", label=f"base rate {np.mean(y):.3f}")
    ax.step(recall, precision, where="post", color="#2f6db5", label="model")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"{title}: precision-recall (test slice)")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return roc, _png(fig)


def gain_lift_png(gains: pd.DataFrame, title: str) -> bytes:
    """Cumulative gain (share of positives caught) and lift per decile of the score."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    share = np.concatenate([[0.0], gains["cumulative_share_of_accounts"].to_numpy()])
    caught = np.concatenate([[0.0], gains["cumulative_share_of_positives"].to_numpy()])
    left.plot([0, 1], [0, 1], ls="--", color="#999999", label="random")
    left.plot(share, caught, marker="o", color="#2f6db5", label="model")
    left.set_xlabel("share of accounts, highest score first")
    left.set_ylabel("share of positives caught")
    left.set_title(f"{title}: cumulative gain")
    left.legend(loc="lower right")
    left.grid(alpha=0.3)
    right.bar(gains["decile"].astype(str), gains["lift"], color="#2f6db5")
    right.axhline(1.0, ls="--", color="#999999")
    right.set_xlabel("score decile (1 = highest)")
    right.set_ylabel("lift over the base rate")
    right.set_title(f"{title}: lift per decile")
    right.grid(axis="y", alpha=0.3)
    return _png(fig)


def confusion_png(matrix: pd.DataFrame, title: str) -> bytes:
    """A 2x2 confusion matrix (rows actual, columns predicted) with counts and shares."""
    values = matrix.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(values, cmap="Blues")
    total = values.sum() or 1.0
    for (i, j), v in np.ndenumerate(values):
        color = "white" if v > values.max() / 2 else "black"
        ax.text(j, i, f"{int(v):,}\n{v / total:.1%}", ha="center", va="center", color=color)
    ax.set_xticks([0, 1], list(matrix.columns))
    ax.set_yticks([0, 1], list(matrix.index))
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    return _png(fig)


def beeswarm_png(contributions: pd.DataFrame, values: pd.DataFrame, title: str, top: int = 15) -> bytes:
    """SHAP beeswarm: one dot per row and feature, x = contribution (log-odds, LightGBM pred_contrib),
    colour = the feature's value (low blue, high red; categories by code; grey = missing)."""
    order = contributions.abs().mean().sort_values(ascending=False).head(top).index[::-1]
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(8, 0.36 * len(order) + 1.4))
    cmap = plt.get_cmap("coolwarm")
    for k, feature in enumerate(order):
        x = contributions[feature].to_numpy(dtype=float)
        v = pd.to_numeric(values[feature], errors="coerce").to_numpy(dtype=float)
        ranks = pd.Series(v).rank(pct=True).to_numpy()
        y = k + np.clip(rng.normal(0, 0.12, len(x)), -0.35, 0.35)
        missing = ~np.isfinite(ranks)
        ax.scatter(x[missing], y[missing], s=6, color="#bbbbbb", alpha=0.6, linewidths=0)
        ax.scatter(x[~missing], y[~missing], s=6, c=ranks[~missing], cmap=cmap, vmin=0, vmax=1, linewidths=0)
    ax.axvline(0, color="#666666", lw=0.8)
    ax.set_yticks(range(len(order)), list(order), fontsize=8)
    ax.set_xlabel("contribution to the log-odds (LightGBM pred_contrib)")
    ax.set_title(title)
    colorbar = fig.colorbar(plt.cm.ScalarMappable(cmap=cmap), ax=ax, pad=0.01, aspect=40)
    colorbar.set_ticks([0, 1], labels=["low", "high"])
    colorbar.set_label("feature value")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def uplift_png(actual: np.ndarray, predicted: np.ndarray, title: str) -> bytes:
    """Predicted vs actual uplift (money, log scales) on the expanding rows of the test slice."""
    fig, ax = plt.subplots(figsize=(5, 5))
    a, p = np.maximum(actual, 1.0), np.maximum(predicted, 1.0)
    ax.scatter(a, p, s=8, color="#2f6db5", alpha=0.6, linewidths=0)
    low, high = float(min(a.min(), p.min())), float(max(a.max(), p.max()))
    ax.plot([low, high], [low, high], ls="--", color="#999999")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("actual uplift")
    ax.set_ylabel("predicted uplift")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _png(fig)
