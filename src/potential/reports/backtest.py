"""The backtest page: the list's record against what happened next, beside the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from potential.data.io import write_text
from potential.reports import _environment
from potential.reports import format as fmt
from potential.scoring.backtest import list_action

CELLS = (
    ("roc_auc", "auc"),
    ("pr_auc", "auc"),
    ("caught_tier_a", "share"),
    ("money_caught_tier_a", "share"),
    ("caught_top_k", "share"),
    ("money_caught_top_k", "share"),
    ("flagged_hit_rate", "share"),
)
OURS = ("potential", "potential list")
UNRANKED = {"flagged_hit_rate"}  # the list's alone: nothing to be best against


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return fmt.DASH
    return f"{value:.3f}" if kind == "auc" else fmt.percent(value, 0)


def write_backtest_page(
    table: pd.DataFrame, comparison: pd.DataFrame, payload: dict[str, Any], path: Path
) -> Path:
    """Render reports/backtest.html from the backtest's metric rows (self-contained, opens from disk)."""
    sections = []
    for (as_of, outcome), group in table.groupby(["as_of", "outcome"], sort=True):
        best = {column: group[column].max() for column, _ in CELLS}
        rows = [
            {
                "method": row["method"],
                "ours": row["method"] in OURS,
                "cells": [
                    {
                        "text": _cell(row[column], kind),
                        "best": bool(
                            column not in UNRANKED
                            and np.isfinite(row[column])
                            and row[column] == best[column]
                        ),
                    }
                    for column, kind in CELLS
                ],
            }
            for _, row in group.iterrows()
        ]
        first = group.iloc[0]
        sections.append(
            {
                "as_of": as_of,
                "outcome": outcome,
                "accounts": f"{int(first['accounts']):,}",
                "positives": f"{int(first['positives']):,}",
                "base_rate": fmt.percent(first["positives"] / first["accounts"], 0)
                if first["accounts"]
                else "",
                "action": list_action(str(outcome)),
                "rows": rows,
            }
        )
    compared = [
        {
            "as_of": row["as_of"],
            "outcome": row["outcome"],
            "roc_auc": _cell(row["roc_auc"], "auc"),
            "best_baseline": row["best_baseline"] or fmt.DASH,
            "baseline_roc_auc": _cell(row["baseline_roc_auc"], "auc"),
            "difference": fmt.DASH if not np.isfinite(row["difference"]) else f"{row['difference']:+.3f}",
            "tone": "good" if row["difference"] > 0 else "bad" if row["difference"] < 0 else "",
        }
        for _, row in comparison.iterrows()
    ]
    html = (
        _environment()
        .get_template("backtest.html.j2")
        .render(
            as_ofs=payload["as_of"],
            horizon=payload["horizon_days"],
            top_k=payload["top_k"],
            tier_pct=fmt.percent(payload["tier_a_share"], 0),
            has_truth=bool(table["outcome"].str.startswith("true ").any()),
            comparison=compared,
            sections=sections,
            notes=payload.get("notes", []),
            data_digest=payload.get("data_digest", ""),
            config_digest=payload.get("config_digest", ""),
        )
    )
    return write_text(path, html)
