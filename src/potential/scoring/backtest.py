"""How a ranked list did against what happened next: the backtest's metrics (no I/O).

A backtest ranks the accounts as of T with models trained on events before T only, then looks at the window
[T, T + horizon) of the full data. For every scoring method (the product's list and probabilities, and the
classic baselines scored on the same accounts) and every outcome (churn, expansion; and on generated data
the generator's true events) it reports:

- ROC-AUC and PR-AUC of the method's score against the outcome;
- the share of the outcome's accounts, and of their money, caught in the method's top group: tier A (the
  first `tier_share` of accounts by that method's ordering) and the top K accounts;
- for the list, how often its action was right: of the accounts it marked Save, the share that churned;
  of those it marked Grow, the share that expanded (`flagged`, `flagged_hit_rate`; beside the outcome's
  rate over all accounts, positives / accounts).

Money at stake per outcome: for churn the account's baseline spend (what was lost), for expansion the spend
above the baseline (what was gained). Accounts count only where the outcome is defined (churn and expansion:
accounts active before T).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

METRIC_COLUMNS = (
    "as_of",
    "outcome",
    "method",
    "accounts",
    "positives",
    "roc_auc",
    "pr_auc",
    "caught_tier_a",
    "money_caught_tier_a",
    "caught_top_k",
    "money_caught_top_k",
    "flagged",
    "flagged_hit_rate",
)


LIST_ACTION = {"churn": "Save", "expansion": "Grow"}  # the list's action whose hit rate each target measures


def list_action(outcome: str) -> str:
    """The list's action an outcome ("churn", "true expansion", ...) judges: Save for churn, Grow for expansion."""
    return LIST_ACTION[outcome.removeprefix("true ")]


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """A mask of the `n` highest scores; ties broken by position (the caller's stable account order)."""
    order = np.argsort(-scores, kind="mergesort")
    mask = np.zeros(len(scores), dtype=bool)
    mask[order[:n]] = True
    return mask


def evaluate(
    outcome: pd.Series,
    money: pd.Series,
    scores: Mapping[str, pd.Series],
    tier_share: float,
    top_k: int,
    flags: Mapping[str, pd.Series] | None = None,
) -> list[dict[str, float | str | int]]:
    """Metrics of each method's `scores` against a 0/1 `outcome` (index: account_id; NaN = not defined).

    `money` is what each positive account brought or cost (only positives count); a method ranks the
    accounts it scores by its score, highest first, and missing scores rank last. `flags` marks, for a
    method, the accounts it acted on (the list's Save or Grow): their count and the outcome's rate among
    them (NaN for the other methods).
    """
    defined = outcome.dropna()
    y = defined.to_numpy(dtype=float)
    weight = money.reindex(defined.index).fillna(0.0).clip(lower=0).to_numpy(dtype=float) * y
    n = len(defined)
    rows: list[dict[str, float | str | int]] = []
    for method, series in scores.items():
        s = series.reindex(defined.index).to_numpy(dtype=float)
        finite = np.isfinite(s)
        s = np.where(finite, s, np.min(s[finite]) - 1.0 if finite.any() else 0.0)  # unscored rank last
        both = n > 0 and 0 < y.sum() < n
        row: dict[str, float | str | int] = {
            "method": method,
            "accounts": n,
            "positives": int(y.sum()),
            "roc_auc": float(roc_auc_score(y, s)) if both else np.nan,
            "pr_auc": float(average_precision_score(y, s)) if both else np.nan,
        }
        for name, size in (("tier_a", int(np.ceil(n * tier_share))), ("top_k", min(top_k, n))):
            caught = _top(s, size)
            row[f"caught_{name}"] = float(y[caught].sum() / y.sum()) if y.sum() else np.nan
            row[f"money_caught_{name}"] = (
                float(weight[caught].sum() / weight.sum()) if weight.sum() else np.nan
            )
        row["flagged"], row["flagged_hit_rate"] = np.nan, np.nan
        if flags is not None and method in flags:
            marked = flags[method].reindex(defined.index).fillna(False).to_numpy(dtype=bool)
            row["flagged"] = int(marked.sum())
            row["flagged_hit_rate"] = float(y[marked].mean()) if marked.any() else np.nan
        rows.append(row)
    return rows


def lift_over_best_baseline(table: pd.DataFrame, method: str, baselines: list[str]) -> pd.DataFrame:
    """Per as-of and outcome: the method's ROC-AUC, the best baseline's, and the difference."""
    rows = []
    for (as_of, outcome), group in table.groupby(["as_of", "outcome"], sort=True):
        by = group.set_index("method")["roc_auc"]
        if method not in by.index:
            continue
        others = by.reindex(baselines).dropna()
        best = others.idxmax() if len(others) else None
        rows.append(
            {
                "as_of": as_of,
                "outcome": outcome,
                "roc_auc": by[method],
                "best_baseline": best or "",
                "baseline_roc_auc": others.max() if len(others) else np.nan,
                "difference": by[method] - others.max() if len(others) else np.nan,
            }
        )
    return pd.DataFrame(rows)
