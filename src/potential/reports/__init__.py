"""Managers' HTML reports: a portfolio page and one page per account (jinja2, autoescaped, inline SVG)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from potential.io import write_text
from potential.ranking import concentration
from potential.reports import charts
from potential.reports import format as fmt

TOP_DRIVERS = 8


@dataclass(frozen=True)
class ReportInput:
    targets: pd.DataFrame
    explanations: pd.DataFrame
    rating: pd.DataFrame
    history: pd.DataFrame
    feature_text: dict[str, str]
    driver_phrases: pd.DataFrame
    model_card: dict
    currency: str = ""
    previous: pd.DataFrame | None = None


def account_filename(account_id: str) -> str:
    """A file-system-safe page name for an account id (collisions disambiguated by a short hash)."""
    account_id = str(account_id)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", account_id).strip(".") or "account"
    if safe != account_id:
        safe = f"{safe[:80]}-{hashlib.sha256(account_id.encode()).hexdigest()[:8]}"
    return f"{safe}.html"


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("potential", "reports/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _clean(value: Any) -> Any:
    return None if fmt.missing(value) else value


def _reasons(text: Any) -> list[str]:
    if fmt.missing(text) or not str(text).strip():
        return []
    return [part.strip() for part in str(text).split("; ") if part.strip()]


def _waterfall(account: str, target: str, expl: pd.DataFrame, phrases: dict, feature_text: dict[str, str], probability: float) -> str | None:
    rows = expl[expl["target"] == target]
    if rows.empty or fmt.missing(probability):
        return None
    base = float(rows["base"].iloc[0])
    rows = rows.assign(abs_c=rows["contribution"].abs()).sort_values(["abs_c", "feature"], ascending=[False, True], kind="mergesort")
    top = rows.head(TOP_DRIVERS)
    rest = float(rows["contribution"].iloc[TOP_DRIVERS:].sum())
    items = [(phrases.get((account, target, f)) or feature_text.get(f, f), float(c)) for f, c in zip(top["feature"], top["contribution"], strict=True)]
    if len(rows) > TOP_DRIVERS:
        items.append((f"{len(rows) - TOP_DRIVERS} other features", rest))
    title = "Churn risk" if target == "churn" else "Expansion likelihood"
    return charts.waterfall(base, items, float(probability), f"{title}: {base * 100:.1f}% base → {float(probability) * 100:.1f}%")


def _account_context(row: pd.Series, data: ReportInput, expl: pd.DataFrame, rating: pd.DataFrame, history: pd.DataFrame,
                     phrases: dict) -> dict[str, Any]:
    cur = data.currency
    account = str(row["account_id"])
    rating_rows = []
    for r in rating.itertuples():
        rating_rows.append({"criterion": r.criterion.replace("_", " "), "value": fmt.text(r.value) if r.known else "unknown",
                            "points": fmt.points(r.points) if r.known else "0 (unknown)", "sentence": r.sentence, "known": bool(r.known),
                            "cls": "pos" if r.points > 0 else ("neg" if r.points < 0 else "")})
    waterfalls = [w for w in (_waterfall(account, t, expl, phrases, data.feature_text, row.get(f"{t}_probability"))
                              for t in ("churn", "expansion")) if w]
    history_svg = None
    if len(history):
        months = pd.period_range(pd.Timestamp(row["as_of"]) - pd.DateOffset(months=24), periods=24, freq="M")
        h = history.assign(period=pd.to_datetime(history["month"]).dt.to_period("M")).set_index("period").reindex(months)
        history_svg = charts.history([str(p) for p in months], h["spend"].fillna(0).tolist(), h["activities"].fillna(0).astype(int).tolist(), cur)
    peer = None
    if not fmt.missing(row.get("peer_spend_percentile")):
        peer = {"spend": fmt.money(row.get("spend_365d"), cur), "percentile": fmt.percent(row.get("peer_spend_percentile")),
                "gap": fmt.money(row.get("peer_gap_to_p75"), cur), "multiple": fmt.number(row.get("potential_multiple"), 1)}
    return {
        "a": {
            "account_id": account, "name": fmt.text(row.get("account_name")) if str(row.get("account_name") or "").strip() else account,
            "rank": int(row["rank"]), "tier": fmt.text(row["tier"]), "action": fmt.text(row["action"]),
            "high_value": str(row.get("high_value")).lower() in ("true", "1"),
            "p_churn": fmt.percent(row.get("churn_probability"), 1), "churn_band": fmt.band(row.get("churn_probability"), "churn"),
            "p_expand": fmt.percent(row.get("expansion_probability"), 1), "expand_band": fmt.band(row.get("expansion_probability"), "expansion"),
            "uplift": fmt.money(row.get("expected_uplift"), cur), "at_risk": fmt.money(row.get("revenue_at_risk"), cur),
            "rating": fmt.number(row.get("rating_score"), 1), "grade": fmt.text(row.get("rating_grade")),
            "unknown": sum(1 for r in rating_rows if not r["known"]), "priority": fmt.number(row.get("priority_score"), 0),
            "action_rule": fmt.text(row.get("action_rule")) if "action_rule" in row else "", "reasons": _reasons(row.get("reasons")),
            "industry": _clean(row.get("industry")) or "", "region": _clean(row.get("region")) or "",
            "status": _clean(row.get("status")) or "", "as_of": fmt.text(row.get("as_of")), "model_version": fmt.text(row.get("model_version")),
        },
        "rating": rating_rows,
        "waterfalls": waterfalls,
        "history_svg": history_svg,
        "peer": peer,
        "card": {"data_digest": data.model_card.get("data_digest", ""), "config_digest": data.model_card.get("config_digest", "")},
        "horizon": data.model_card.get("horizon_days", ""),
    }


def _index_context(data: ReportInput, top: pd.DataFrame, names: dict[str, str]) -> dict[str, Any]:
    t = data.targets
    cur = data.currency
    total = float(t["priority_score"].sum()) or 1.0
    tiers = [{"name": name, "count": f"{len(g):,}", "priority_share": fmt.percent(g["priority_score"].sum() / total)}
             for name, g in t.groupby("tier", sort=True)]
    actions = [{"name": name, "count": f"{int((t['action'] == name).sum()):,}"} for name in ("Grow", "Save", "Nurture", "Maintain")]
    curve = concentration(t.sort_values("rank")["priority_score"])
    rows = []
    for r in top.itertuples():
        reasons = _reasons(getattr(r, "reasons", ""))
        rows.append({"rank": r.rank, "account_id": str(r.account_id), "href": names[str(r.account_id)],
                     "name": fmt.text(r.account_name) if str(r.account_name or "").strip() and not fmt.missing(r.account_name) else str(r.account_id),
                     "tier": r.tier, "action": r.action, "high_value": str(r.high_value).lower() in ("true", "1"),
                     "priority": fmt.number(r.priority_score), "p_expand": fmt.percent(r.expansion_probability, 1),
                     "uplift": fmt.money(r.expected_uplift, cur), "p_churn": fmt.percent(r.churn_probability, 1),
                     "at_risk": fmt.money(r.revenue_at_risk, cur), "rating": fmt.number(r.rating_score, 0), "grade": r.rating_grade,
                     "reason": reasons[0] if reasons else "—"})
    card = data.model_card
    models = []
    for m in card.get("models", []):
        metrics = m.get("metrics", {})
        models.append({"target": m["target"], "version": m.get("version", ""), "roc_auc": fmt.number(metrics.get("roc_auc"), 3),
                       "pr_auc": fmt.number(metrics.get("pr_auc"), 3), "lift": fmt.number(metrics.get("lift_at_20"), 2),
                       "brier": fmt.number(metrics.get("brier"), 3),
                       "baselines": [{"name": name.replace("_", " "), "roc_auc": fmt.number(b.get("roc_auc"), 3), "pr_auc": fmt.number(b.get("pr_auc"), 3),
                                      "lift": fmt.number(b.get("lift_at_20"), 2)} for name, b in sorted(m.get("baselines", {}).items())]})
    changes = []
    if data.previous is not None and len(data.previous):
        prev = data.previous.set_index(data.previous["account_id"].astype(str))
        for r in t.sort_values("rank").head(200).itertuples():
            account = str(r.account_id)
            if account not in prev.index:
                changes.append({"account_id": account, "name": fmt.text(r.account_name), "text": f"new on the list at #{r.rank}"})
            elif str(prev.loc[account, "tier"]) != str(r.tier):
                changes.append({"account_id": account, "name": fmt.text(r.account_name), "text": f"tier {prev.loc[account, 'tier']} → {r.tier}"})
        changes = changes[:25]
    probs_c = t["churn_probability"].dropna().tolist()
    probs_e = t["expansion_probability"].dropna().tolist()
    tier_a = t[t["tier"] == t["tier"].min()]["priority_score"].sum() / total if len(t) else 0
    return {
        "card": {"as_of": card.get("as_of", ""), "horizon_days": card.get("horizon_days", ""), "notes": card.get("notes", []),
                 "action_rules": card.get("action_rules", []), "data_digest": card.get("data_digest", ""),
                 "config_digest": card.get("config_digest", "")},
        "versions": ", ".join(f"{m['target']} v{m.get('version', '')}" for m in card.get("models", [])) or "rating only",
        "n_accounts": f"{len(t):,}", "tiers": tiers, "actions": actions, "high_value": f"{int(t['high_value'].astype(str).str.lower().isin(['true', '1']).sum()):,}",
        "top": rows, "models": models, "changes": changes, "tier_a_share": fmt.percent(tier_a),
        "concentration_svg": charts.concentration(curve["account_share"].tolist(), curve["priority_share"].tolist()),
        "hist_churn": charts.histogram(probs_c, "Churn probability", color=charts.RED) if probs_c else "",
        "hist_expand": charts.histogram(probs_e, "Expansion probability", color=charts.GREEN) if probs_e else "",
        "hist_rating": charts.histogram(t["rating_score"].dropna().tolist(), "Rating score", lo=0, hi=100),
    }


def write_reports(data: ReportInput, out_dir: Path, top_k: int = 50) -> list[Path]:
    """Write out_dir/index.html and out_dir/accounts/<id>.html for the top_k accounts by rank."""
    out_dir = Path(out_dir)
    env = _environment()
    account_tpl = env.get_template("account.html.j2")
    index_tpl = env.get_template("index.html.j2")
    targets = data.targets.sort_values("rank", kind="mergesort")
    targets = targets.assign(account_id=targets["account_id"].astype(str))
    top = targets.head(top_k)
    names = {a: account_filename(a) for a in top["account_id"]}
    ids = set(names)
    expl = data.explanations[data.explanations["account_id"].astype(str).isin(ids)] if len(data.explanations) else data.explanations
    groups_e = {a: g for a, g in expl.groupby(expl["account_id"].astype(str))} if len(expl) else {}
    groups_r = {a: g for a, g in data.rating.groupby(data.rating["account_id"].astype(str))} if len(data.rating) else {}
    hist = data.history
    groups_h = {a: g for a, g in hist.groupby(hist["account_id"].astype(str))} if len(hist) else {}
    phrases = {}
    if len(data.driver_phrases):
        dp = data.driver_phrases
        phrases = {(str(a), t, f): p for a, t, f, p in zip(dp["account_id"], dp["target"], dp["feature"], dp["phrase"], strict=True)}
    empty_e = pd.DataFrame(columns=["account_id", "target", "feature", "contribution", "base"])
    empty_r = pd.DataFrame(columns=["criterion", "value", "points", "sentence", "known"])
    empty_h = pd.DataFrame(columns=["month", "spend", "activities"])
    paths = []
    for _, row in top.iterrows():
        account = row["account_id"]
        context = _account_context(row, data, groups_e.get(account, empty_e), groups_r.get(account, empty_r),
                                   groups_h.get(account, empty_h), phrases)
        paths.append(write_text(out_dir / "accounts" / names[account], account_tpl.render(**context)))
    paths.insert(0, write_text(out_dir / "index.html", index_tpl.render(**_index_context(data, top, names))))
    accounts_dir = out_dir / "accounts"
    if accounts_dir.exists():  # pages of accounts no longer in the report go, only after the new ones are written
        keep = set(names.values())
        for stale in accounts_dir.glob("*.html"):
            if stale.name not in keep:
                stale.unlink()
    return paths
