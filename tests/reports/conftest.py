"""A small hand-built ReportInput: hostile names, a prospect, unknown rating values, a previous run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.export.targets import TARGET_COLUMNS
from potential.reports import ReportInput, write_reports

AS_OF = "2026-08-01"
XSS_NAME = "<script>document.title='XSS'</script>"
HOSTILE_NAMES = {
    "C002": XSS_NAME,
    "C003": "Quote \"Co\" & Sons 'Ltd'",
    "C004": "株式会社テスト",
    "C005": "Comma, Inc.\nSecond line",
    "ACME/1": "Ωmega Λtd <b>bold</b>",
    "a b?c": "",  # blank name: the page falls back to the id
}
FEATURES = [f"f{i:02d}" for i in range(12)]
CONTRACT = list(TARGET_COLUMNS)  # the one declaration of the export contract


def build_report_input(
    n: int = 14,
    *,
    expansion: bool = True,
    history: bool = True,
    previous: bool = False,
    currency: str = "€",
    seed: int = 7,
) -> ReportInput:
    rng = np.random.default_rng(seed)
    ids = [f"C{i:03d}" for i in range(1, n - 1)] + ["ACME/1", "a b?c"]
    names = [HOSTILE_NAMES.get(a, f"Company {a}") for a in ids]
    prospect = np.array([a == "C007" for a in ids])
    churn = np.round(rng.uniform(0.01, 0.95, n), 6)
    churn[prospect] = np.nan
    expand = np.round(rng.uniform(0.01, 0.9, n), 6) if expansion else np.full(n, np.nan)
    expand[prospect] = np.nan
    at_risk = np.round(rng.lognormal(10, 1, n), 2)
    uplift = np.round(rng.lognormal(10, 1, n), 2) if expansion else np.full(n, np.nan)
    priority = np.sort(rng.lognormal(9, 1.5, n))[::-1].round(6)
    rating = np.round(rng.uniform(20, 90, n), 1)
    tiers = np.where(np.arange(n) < n * 0.2, "A", np.where(np.arange(n) < n * 0.5, "B", "C"))
    actions = np.array(["Save", "Grow", "Nurture", "Maintain"])[np.arange(n) % 4]
    actions[prospect] = "Nurture"
    targets = pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "account_id": ids,
            "account_name": names,
            "tier": tiers,
            "action": actions,
            "priority_score": priority,
            "expansion_probability": expand,
            "expected_uplift": uplift,
            "churn_probability": churn,
            "revenue_at_risk": at_risk,
            "rating_score": rating,
            "rating_grade": np.where(rating >= 70, "A", np.where(rating >= 55, "B", "C")),
            "high_value": np.arange(n) % 3 == 0,
            "reasons": [
                "Spend fell 38% vs the previous quarter (churn risk +12.3 pts); No executive contact (rating -5.0 pts)"
            ]
            * n,
            "as_of": AS_OF,
            "model_version": "churn:v3;expansion:v2" if expansion else "churn:v3",
            "action_rule": [
                f"{a}: churn probability 0.62 >= 0.35 and saving value > growing value" for a in actions
            ],
            "is_prospect": prospect,
            "industry": ["retail"] * (n - 1) + ["<i>energy</i>"],
            "region": "north",
            "spend_365d": np.round(rng.lognormal(11, 1, n), 2),
            "peer_gap_to_p75": np.round(rng.lognormal(10, 1, n), 2),
            "peer_spend_percentile": np.round(rng.uniform(0, 1, n), 3),
            "potential_multiple": np.round(rng.uniform(0.5, 30, n), 2),
        }
    )
    targets.loc[prospect, ["spend_365d", "peer_gap_to_p75"]] = np.nan
    targets.loc[targets["account_id"] == "C004", "reasons"] = np.nan

    expl_rows = []
    for account, p_churn, p_expand in zip(ids, churn, expand, strict=True):
        for target, prob, base in (("churn", p_churn, 0.18), ("expansion", p_expand, 0.22)):
            if np.isnan(prob):
                continue
            contrib = rng.normal(0, 0.04, len(FEATURES))
            contrib[-1] = prob - base - contrib[:-1].sum()  # base + sum(contribution) == probability
            values = rng.uniform(0, 500, len(FEATURES))
            values[3] = np.nan
            expl_rows += [
                (account, target, f, v, c, base) for f, v, c in zip(FEATURES, values, contrib, strict=True)
            ]
    explanations = pd.DataFrame(
        expl_rows, columns=["account_id", "target", "feature", "value", "contribution", "base"]
    )

    criteria = [
        ("current_customer", "is_prospect"),
        ("growth_trend", "growth"),
        ("executive_contact", "exec"),
        ("culture_fit", "culture_fit"),
        ("reputation", "reputation"),
    ]
    rating_rows = []
    for i, account in enumerate(ids):
        for j, (criterion, attribute) in enumerate(criteria):
            known = not (j == 3 and i % 2 == 0)
            points = float(np.round(rng.normal(0, 4), 2)) if known else 0.0
            value = ["yes", "growing", "no", "good", "4"][j] if known else ""
            sentence = f"{criterion.replace('_', ' ').capitalize()}: {value or 'unknown'}"
            rating_rows.append((account, criterion, attribute, value, 0.5, points, known, sentence))
    rating_frame = pd.DataFrame(
        rating_rows,
        columns=["account_id", "criterion", "attribute", "value", "score", "points", "known", "sentence"],
    )

    hist_rows = []
    if history:
        months = pd.date_range(end=pd.Timestamp(AS_OF) - pd.offsets.MonthBegin(1), periods=24, freq="MS")
        for account, is_prospect in zip(ids, prospect, strict=True):
            for m in months:
                spend = 0.0 if is_prospect else float(np.round(rng.lognormal(8, 0.6), 2))
                hist_rows.append(
                    (
                        account,
                        m,
                        spend,
                        0 if is_prospect else int(rng.integers(0, 4)),
                        int(rng.integers(0, 6)),
                    )
                )
    history_frame = pd.DataFrame(hist_rows, columns=["account_id", "month", "spend", "orders", "activities"])

    feature_text = {f: f"Feature {f} described" for f in FEATURES}
    feature_text["f05"] = "<b>Bold</b> feature & more"
    phrases = pd.DataFrame(
        [
            (a, t, "f00", "Spend fell 38% vs the previous quarter")
            for a in ids
            for t in ("churn", "expansion")
        ],
        columns=["account_id", "target", "feature", "phrase"],
    )
    models = [
        {
            "target": "churn",
            "name": "potential-churn",
            "version": "3",
            "model": "lightgbm+logistic",
            "metrics": {"roc_auc": 0.83, "pr_auc": 0.51, "brier": 0.11, "lift_at_10": 3.2, "lift_at_20": 2.5},
            "baselines": {
                "logistic": {"roc_auc": 0.78, "pr_auc": 0.44, "lift_at_20": 2.1},
                "recency_rule": {"roc_auc": 0.7, "pr_auc": 0.3, "lift_at_20": 1.7},
            },
        }
    ]
    if expansion:
        models.append(
            {
                "target": "expansion",
                "name": "potential-expansion",
                "version": "2",
                "metrics": {
                    "roc_auc": 0.74,
                    "pr_auc": 0.4,
                    "brier": 0.15,
                    "lift_at_10": 2.2,
                    "lift_at_20": 1.9,
                },
                "baselines": {"logistic": {"roc_auc": 0.7, "pr_auc": 0.35, "lift_at_20": float("nan")}},
            }
        )
    card = {
        "as_of": AS_OF,
        "horizon_days": 90,
        "models": models,
        "notes": [] if expansion else ["expansion not modelled: no transactions"],
        "data_digest": "abc123",
        "config_digest": "def456",
        "action_rules": [
            "Save: churn probability >= 0.35",
            "Grow: expansion probability >= 0.30",
            "Nurture: a prospect",
            "Maintain: everything else",
        ],
    }
    prev = None
    if previous:
        prev = targets.copy().iloc[::-1].reset_index(drop=True)
        prev["rank"] = np.arange(1, n + 1)
        prev["tier"] = np.where(prev["rank"] <= 3, "A", "C")
        prev = prev[prev["account_id"] != "C003"]  # C003 is a new entrant this run
        gone = prev.iloc[[0]].assign(account_id="GONE", account_name="Gone Ltd", rank=n + 1)
        prev = pd.concat([prev, gone], ignore_index=True)
    return ReportInput(
        targets=targets[CONTRACT + [c for c in targets.columns if c not in CONTRACT]],
        explanations=explanations,
        rating=rating_frame,
        history=history_frame,
        feature_text=feature_text,
        driver_phrases=phrases,
        model_card=card,
        currency=currency,
        previous=prev,
    )


@pytest.fixture
def make_report_input() -> Callable[..., ReportInput]:
    return build_report_input


@pytest.fixture
def report_input() -> ReportInput:
    return build_report_input()


@pytest.fixture
def rendered(tmp_path: Path, report_input: ReportInput) -> tuple[ReportInput, Path, list[Path]]:
    out = tmp_path / "reports"
    return report_input, out, write_reports(report_input, out, top_k=50)
