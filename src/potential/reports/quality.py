"""The portfolio page's views of how earlier lists did and of the drift since the previous run.

Both come from the model card (run.json): `list_quality` holds the rows of exports/list_quality.csv
(`potential.scoring.list_quality`), `drift` the PSI table against the previous run
(`potential.scoring.drift`). Values are formatted here; the templates `_list_quality.html.j2` and
`_drift.html.j2` only lay them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from potential.reports import format as fmt

SCORE_TITLE = {
    "priority_score": "Priority",
    "churn_probability": "Churn probability",
    "expansion_probability": "Expansion probability",
    "expected_uplift": "Expected uplift",
    "revenue_at_risk": "Revenue at risk",
    "rating_score": "Rating score",
}


def list_quality_view(card: Mapping[str, Any], currency: str = "") -> list[dict[str, Any]]:
    """One block per earlier as-of, latest first: its rows (whole list, tiers, actions), predicted vs actual."""
    rows = [r for r in card.get("list_quality", []) or [] if isinstance(r, Mapping)]
    blocks: dict[str, dict[str, Any]] = {}
    for r in rows:
        as_of = fmt.text(r.get("as_of"))
        block = blocks.setdefault(
            as_of, {"as_of": as_of, "horizon_end": fmt.text(r.get("horizon_end")), "rows": []}
        )
        by, group = fmt.text(r.get("by"), ""), fmt.text(r.get("group"), "")
        block["rows"].append(
            {
                "label": "Whole list" if by == "all" else (f"Tier {group}" if by == "tier" else group),
                "first": by == "all",
                "accounts": fmt.integer(r.get("accounts")),
                "observed": fmt.integer(r.get("observed")),
                "churn_predicted": fmt.number(r.get("predicted_churners"), 1),
                "churn_actual": fmt.integer(r.get("actual_churners")),
                "expand_predicted": fmt.number(r.get("predicted_expanders"), 1),
                "expand_actual": fmt.integer(r.get("actual_expanders")),
                "lost_expected": fmt.money(r.get("expected_revenue_lost"), currency),
                "lost": fmt.money(r.get("revenue_lost"), currency),
                "gained_expected": fmt.money(r.get("expected_revenue_gained"), currency),
                "gained": fmt.money(r.get("revenue_gained"), currency),
            }
        )
    for block in blocks.values():
        whole = block["rows"][0] if block["rows"] and block["rows"][0]["first"] else None
        block["headline"] = (
            f"Of the {whole['observed']} accounts with an outcome, the list expected {whole['churn_predicted']} "
            f"to churn and {whole['expand_predicted']} to expand; {whole['churn_actual']} churned and "
            f"{whole['expand_actual']} expanded by {block['horizon_end']}."
            if whole
            else ""
        )
    return [blocks[k] for k in sorted(blocks, reverse=True)]


def drift_view(card: Mapping[str, Any]) -> dict[str, Any] | None:
    """The drift table of the model card: every score, then the top features by PSI; None without drift."""
    drift = card.get("drift")
    if not isinstance(drift, Mapping):
        return None
    threshold = fmt.as_float(drift.get("threshold"))

    def row(r: Mapping[str, Any]) -> dict[str, Any]:
        column = fmt.text(r.get("column"))
        return {
            "name": SCORE_TITLE.get(column, column) if r.get("role") == "score" else column,
            "psi": fmt.number(r.get("psi"), 3),
            "drifted": fmt.flag(r.get("drifted")),
            "missing": f"{fmt.percent(r.get('reference_missing'), 0)} → {fmt.percent(r.get('current_missing'), 0)}",
        }

    rows = [r for r in drift.get("rows", []) or [] if isinstance(r, Mapping)]
    return {
        "previous_as_of": fmt.text(drift.get("previous_as_of")),
        "threshold": fmt.number(threshold, 2) if threshold is not None else fmt.DASH,
        "features": fmt.integer(drift.get("features")),
        "drifted_features": fmt.integer(drift.get("drifted_features")),
        "scores": [row(r) for r in rows if r.get("role") == "score"],
        "top": [row(r) for r in rows if r.get("role") == "feature"],
    }
