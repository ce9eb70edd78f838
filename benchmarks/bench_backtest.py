"""Backtest on generated books: the list as of 90 days before the end, scored against what happened next.

For each seed (six by default) a 3,000-account, 36-month book is generated; `potential backtest` trains
on the events before the as-of only and ranks; the list is then scored against the labels of the next 90
days and against the generator's own true churn and expansion events. Rows: ROC-AUC of the model's
probability beside the best of the baselines (recency/RFM rule, logistic regression, BG/NBD) and the share
of the true events held by tier A (the top 20% of accounts), per book and their mean.

    python benchmarks/bench_backtest.py [--accounts 3000] [--seeds 42 1 7 3 11 23]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from potential.app.pipeline import Pipeline
from potential.app.requests import BacktestRequest
from potential.config import Config
from potential.engines import open_engine
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio

AS_OF = (
    DEFAULT_END - pd.Timedelta(days=92)
).normalize()  # the last transaction lies a day or two before the end
BASELINES = ("rfm_rule", "logistic", "bgnbd")
NOTES = (
    "Targets for the product on this world: against the true events of the next 90 days, expansion ROC-AUC "
    ">= 0.75 with tier A holding half of them, churn ROC-AUC >= 0.87, both ahead of every baseline. "
    "The published models are refitted on every labelled cutoff (`training.refit`) and blend LightGBM with "
    "a logistic regression (`training.linear_weight` 0.5, `training.linear_penalty` 0.02); the logistic "
    "baseline here is the classic regression alone (C = 0.5), learning from the same cutoffs. With 57-74 true "
    "expansions per book a ROC-AUC has a standard error of about 0.03, so the mean over the books is the "
    "figure to compare with 0.75; single books range from 0.69 to 0.79, and on seed 23 the logistic "
    "regression is 0.001 ahead. Before a young account's expansion "
    "label was left missing (not 0) and order-days days apart were joined into one order (docs/targets.md), "
    "true expansion was 0.730 / 0.688 / 0.768 on seeds 42 / 1 / 7 (tier A 57% / 51% / 57%), and 0.731 / "
    "0.776 / 0.679 on seeds 3 / 11 / 23, which were added afterwards to check the change on books it was not "
    "chosen on. Before the blend the product's true expansion was 0.689 / 0.676 / 0.749 on seeds 42 / 1 / 7. "
    "True churn leaves out the accounts the generator had churned before the as-of (still active in the "
    "lookback, so they have a label): they have no churn left to predict. Counted as non-churners, as before, "
    "they held true churn at 0.926 / 0.896 / 0.913 on seeds 42 / 1 / 7 (logistic 0.928 / 0.898 / 0.913). "
    "On true churn the product is level with the logistic regression on seeds 42 / 1 / 7 (within 0.002) and "
    "ahead on the other three."
)


SEEDS = (42, 1, 7, 3, 11, 23)
OUTCOMES = ("churn", "expansion", "true churn", "true expansion")


def _means(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """One row per outcome: the books' mean ROC-AUC, mean best baseline and mean tier-A share."""
    frame = pd.DataFrame(rows)
    out: list[dict[str, object]] = []
    for outcome in OUTCOMES:
        part = frame[frame["outcome"] == outcome]
        if part.empty:
            continue
        baseline = pd.to_numeric(part["baseline ROC-AUC"], errors="coerce")
        out.append(
            {
                "seed": f"mean of {len(part)}",
                "outcome": outcome,
                "positives": round(float(part["positives"].mean())),
                "potential ROC-AUC": round(float(part["potential ROC-AUC"].mean()), 3),
                "best baseline": "",
                "baseline ROC-AUC": round(float(baseline.mean()), 3) if baseline.notna().any() else "",
                "tier A holds": f"{part['_tier_a'].mean():.0%}",
            }
        )
    return out


def main(accounts: int = 3000, seeds: tuple[int, ...] = SEEDS) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    config = Config()
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            write_portfolio(generate_portfolio(accounts, 36, seed), data)
            with open_engine(config) as engine:
                summary = Pipeline(engine, config).backtest(
                    BacktestRequest(data, (AS_OF,), Path(tmp) / "ws", top_k=100)
                )
        table = summary.table
        for outcome in OUTCOMES:
            part = table[table["outcome"] == outcome].set_index("method")
            if "potential" not in part.index:
                continue
            ours = part.loc["potential"]
            best = part.reindex(list(BASELINES))["roc_auc"].dropna()
            rows.append(
                {
                    "seed": seed,
                    "outcome": outcome,
                    "positives": int(ours["positives"]),
                    "potential ROC-AUC": round(float(ours["roc_auc"]), 3),
                    "best baseline": best.idxmax() if len(best) else "",
                    "baseline ROC-AUC": round(float(best.max()), 3) if len(best) else "",
                    "tier A holds": f"{ours['caught_tier_a']:.0%}",
                    "_tier_a": float(ours["caught_tier_a"]),
                }
            )
    if len(seeds) > 1:
        rows += _means(rows)
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args()
    print(pd.DataFrame(main(args.accounts, tuple(args.seeds))).to_string(index=False))
