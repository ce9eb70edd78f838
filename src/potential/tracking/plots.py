"""Static PNG plots for the tracking store (feature importance, calibration). Returns bytes; never writes files."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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
