"""View models for the report pages: plain dicts of already-formatted strings (and escaped SVG Markup).

Templates only lay these out; every number is formatted here through `format`, so a page never shows
'nan' or 'None', and the same input always gives the same strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from potential.reports import charts
from potential.reports import format as fmt

TOP_DRIVERS = 8
TARGETS = ("churn", "expansion")
TARGET_TITLE = {"churn": "Churn risk", "expansion": "Expansion likelihood"}
ACTIONS = ("Save", "Grow", "Nurture", "Maintain")
ACTION_HEADLINE = {
    "Save": "Save this account",
    "Grow": "Grow this account",
    "Nurture": "Nurture the relationship",
    "Maintain": "Maintain: business as usual",
}
BAND_EDGES = ((0.0, 0.2, "low"), (0.2, 0.5, "medium"), (0.5, 1.0, "high"))
_REASON = re.compile(r"\((churn risk|expansion|rating) ([+-]?[\d.,]+) pts\)\s*$")


def css_token(value: Any, allowed: tuple[str, ...]) -> str:
    """A CSS class suffix only for known values (data never reaches a class attribute unchecked)."""
    text = fmt.text(value, "")
    return text if text in allowed else "other"


def display_name(row: Mapping[str, Any]) -> str:
    name = row.get("account_name")
    return fmt.text(row["account_id"]) if fmt.missing(name) or not str(name).strip() else str(name)


def split_reasons(text: Any) -> list[dict[str, str]]:
    """'a (churn risk +3 pts); b (rating -2 pts)' -> items with a tone: 'tone-bad', 'tone-good' or ''."""
    if fmt.missing(text):
        return []
    items = []
    for part in str(text).split("; "):
        part = part.strip()
        if not part:
            continue
        tone = ""
        match = _REASON.search(part)
        if match:
            up = not match.group(2).startswith("-")
            tone = (
                ("tone-bad" if up else "tone-good")
                if match.group(1) == "churn risk"
                else ("tone-good" if up else "tone-bad")
            )
        items.append({"text": part, "tone": tone})
    return items


def movement(row: Mapping[str, Any]) -> dict[str, str] | None:
    """Rank movement since the previous run, from the optional rank_delta / new_entrant / tier_change columns."""
    if fmt.flag(row.get("new_entrant")):
        return {"text": "new", "long": "new on the list since the last run", "tone": "new"}
    delta = fmt.as_float(row.get("rank_delta"))
    tier_change = fmt.text(row.get("tier_change"), "").replace("->", "→")
    parts = []
    tone = ""
    if delta:
        up = delta > 0
        tone = "up" if up else "down"
        parts.append(
            f"{'up' if up else 'down'} {abs(delta):,.0f} place{'s' if abs(delta) != 1 else ''} since the last run"
        )
    if tier_change:
        parts.append(f"tier {tier_change}")
    if not parts:
        return None
    short = (f"▲{abs(delta):,.0f}" if tone == "up" else f"▼{abs(delta):,.0f}") if delta else "tier"
    return {"text": short, "long": "; ".join(parts), "tone": tone}


# ------------------------------------------------------------------------------------------------ account page
# Per-account inputs arrive as plain Python structures (built once for all pages in `collect_*`): hundreds of
# pages render in a couple of seconds because no page touches pandas.
Explanation = tuple[float, list[tuple[str, float, float]]]  # base, [(feature, contribution, value)]


def collect_explanations(frame: pd.DataFrame | None, ids: set[str]) -> dict[tuple[str, str], Explanation]:
    """(account, target) -> (base, drivers) for the accounts in `ids` (base NaN when the frame has none)."""
    if frame is None or not len(frame):
        return {}
    keys = frame["account_id"].astype(str)
    frame = frame[keys.isin(ids)]
    values = frame["value"] if "value" in frame.columns else pd.Series(np.nan, index=frame.index)
    bases = frame["base"] if "base" in frame.columns else pd.Series(np.nan, index=frame.index)
    out: dict[tuple[str, str], Explanation] = {}
    for a, t, f, c, b, v in zip(
        keys[keys.isin(ids)],
        frame["target"].astype(str),
        frame["feature"].astype(str),
        pd.to_numeric(frame["contribution"], errors="coerce").fillna(0.0).to_numpy(dtype=float),
        pd.to_numeric(bases, errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(values, errors="coerce").to_numpy(dtype=float),
        strict=True,
    ):
        entry = out.get((a, t))
        if entry is None:
            entry = out[(a, t)] = (float(b), [])
        entry[1].append((f, float(c), float(v)))
    return out


def collect_rating(frame: pd.DataFrame | None, ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    if frame is None or not len(frame):
        return {}
    keys = frame["account_id"].astype(str)
    frame = frame[keys.isin(ids)]
    out: dict[str, list[dict[str, Any]]] = {}
    columns = ("criterion", "value", "points", "known", "sentence")
    cols = [frame[c] if c in frame.columns else pd.Series("", index=frame.index) for c in columns]
    for a, *vals in zip(keys[keys.isin(ids)], *cols, strict=True):
        out.setdefault(a, []).append(dict(zip(columns, vals, strict=True)))
    return out


def collect_history(
    frame: pd.DataFrame | None, ids: set[str], months: pd.PeriodIndex | None
) -> dict[str, dict[str, tuple[float, float, float]]]:
    """account -> 'YYYY-MM' -> (spend, orders, activities), summed per calendar month within `months`."""
    if frame is None or not len(frame) or months is None:
        return {}
    keys = frame["account_id"].astype(str)
    frame = frame[keys.isin(ids)]
    month = pd.to_datetime(frame["month"], errors="coerce").dt.strftime("%Y-%m")
    wanted = {str(m) for m in months}
    data = pd.DataFrame(
        {
            "account_id": keys[keys.isin(ids)],
            "month": month,
            **{
                c: pd.to_numeric(frame[c], errors="coerce") if c in frame.columns else 0.0
                for c in ("spend", "orders", "activities")
            },
        }
    )
    data = data[data["month"].isin(wanted)].fillna(0.0)
    sums = data.groupby(["account_id", "month"], sort=True)[["spend", "orders", "activities"]].sum()
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for (a, m), s, o, act in zip(sums.index, sums["spend"], sums["orders"], sums["activities"], strict=True):
        out.setdefault(a, {})[m] = (float(s), float(o), float(act))
    return out


def waterfall_view(
    account: str,
    target: str,
    explanation: Explanation | None,
    phrases: Mapping[tuple[str, str, str], str],
    feature_text: Mapping[str, str],
    probability: Any,
) -> dict[str, Any] | None:
    """Top drivers of one target from base to this account's probability, or None if not modelled."""
    final = fmt.as_float(probability)
    if final is None or not explanation or not explanation[1]:
        return None
    base, drivers_all = explanation
    if not np.isfinite(base):
        return None
    ordered = sorted(drivers_all, key=lambda d: (-abs(d[1]), d[0]))
    items: list[tuple[str, float]] = []
    drivers = []
    for feature, c, value in ordered[:TOP_DRIVERS]:
        label = phrases.get((account, target, feature)) or _feature_label(feature, value, feature_text)
        items.append((label, c))
        drivers.append({"label": label, "points": fmt.points(c)})
    rest = ordered[TOP_DRIVERS:]
    if rest:
        items.append((f"{len(rest)} other factors together", float(sum(d[1] for d in rest))))
    residual = final - (base + float(sum(d[1] for d in ordered)))
    if abs(residual) >= 5e-4:  # contributions should add up exactly; show any gap rather than hide it
        items.append(("Not explained by the factors (rounding)", residual))
    up_is_bad = target == "churn"
    title = TARGET_TITLE.get(target, target)
    label = f"{title}: portfolio average {base * 100:.1f}% to {final * 100:.1f}% for this account"
    return {
        "target": target,
        "title": title,
        "base": fmt.percent(base),
        "final": fmt.percent(final),
        "svg": charts.waterfall(base, items, final, up_is_bad=up_is_bad, label=label),
        "up": "raises the risk" if up_is_bad else "raises the likelihood",
        "down": "lowers the risk" if up_is_bad else "lowers the likelihood",
        "drivers": drivers,
        "total": base + sum(d for _, d in items),
    }


def _feature_label(feature: str, value: Any, feature_text: Mapping[str, str]) -> str:
    label = feature_text.get(feature) or feature.replace("_", " ")
    number = fmt.as_float(value)
    if number is None:
        return label
    shown = f"{number:,.0f}" if abs(number) >= 100 else f"{number:,.2f}".rstrip("0").rstrip(".")
    return f"{label}: {shown}"


def rating_view(rating: list[Mapping[str, Any]], score: Any) -> dict[str, Any]:
    points = [fmt.as_float(r.get("points")) or 0.0 for r in rating]
    largest = max((abs(p) for p in points), default=0.0)
    rows = []
    for r, p in zip(rating, points, strict=True):
        known = fmt.flag(r.get("known"))
        share = 0.0 if not largest or not known else min(abs(p) / largest, 1.0) * 50
        rows.append(
            {
                "criterion": fmt.text(r.get("criterion"), "").replace("_", " ").capitalize(),
                "value": fmt.text(r.get("value"), "") if known else "unknown",
                "points": fmt.signed(p) if known else "0",
                "sentence": fmt.text(r.get("sentence"), ""),
                "known": known,
                "tone": "" if not known or p == 0 else ("good" if p > 0 else "bad"),
                "bar_left": f"{50 - share:.1f}" if p < 0 else "50.0",
                "bar_width": f"{share:.1f}",
            }
        )
    unknown = [row["criterion"] for row in rows if not row["known"]]
    total = sum(p for p, row in zip(points, rows, strict=True) if row["known"])
    return {
        "rows": rows,
        "unknown": unknown,
        "n_unknown": len(unknown),
        "n": len(rows),
        "total": fmt.signed(total),
        "score": fmt.number(score, 1),
    }


def history_months(as_of: pd.Timestamp, n: int = 24) -> pd.PeriodIndex:
    """The n calendar months before as_of (the month holding as_of - 1 day is the last)."""
    last = (as_of - pd.Timedelta(days=1)).to_period("M")
    return pd.period_range(end=last, periods=n, freq="M")


def history_view(
    history: Mapping[str, tuple[float, float, float]],
    months: pd.PeriodIndex | None,
    currency: str,
    available: bool,
) -> dict[str, Any] | None:
    if not available or months is None:
        return None
    labels = [str(m) for m in months]
    zero = (0.0, 0.0, 0.0)
    spend = [history.get(m, zero)[0] for m in labels]
    orders = [int(history.get(m, zero)[1]) for m in labels]
    activities = [int(history.get(m, zero)[2]) for m in labels]
    last12, prev12 = sum(spend[-12:]), sum(spend[-24:-12])
    empty = not (any(spend) or any(orders) or any(activities))
    return {
        "empty": empty,
        "svg": None if empty else charts.history(labels, spend, orders, activities, currency),
        "first": _month_name(months[0]),
        "last": _month_name(months[-1]),
        "spend_12": fmt.money(last12, currency),
        "spend_prev_12": fmt.money(prev12, currency),
        "spend_change": fmt.change(last12, prev12),
        "orders_12": fmt.integer(sum(orders[-12:])),
        "activities_3": fmt.integer(sum(activities[-3:])),
        "activities_12": fmt.integer(sum(activities[-12:])),
    }


def _month_name(period: pd.Period) -> str:
    return f"{charts.MONTHS[period.month - 1]} {period.year}"


def horizon_phrases(days: Any) -> dict[str, str]:
    """Wording around the forecast horizon, also when the model card does not give it."""
    n = fmt.as_float(days)
    if n is None or n <= 0:
        return {
            "next": "over the forecast horizon",
            "within": "over the forecast horizon",
            "last": "recent spend",
        }
    n_text = f"{n:,.0f} day{'s' if n != 1 else ''}"
    return {
        "next": f"next {n_text}",
        "within": f"within {n_text}",
        "last": f"last {n_text}' spend" if n != 1 else "last day's spend",
    }


def score_card(probability: Any, *, modelled: bool, prospect: bool) -> dict[str, str]:
    p = fmt.as_float(probability)
    if p is not None:
        return {"value": fmt.percent(p), "band": fmt.band(p), "note": fmt.band(p)}
    if not modelled:
        return {"value": "not modelled", "band": "none", "note": "no model for this target in this run"}
    if prospect:
        return {"value": fmt.DASH, "band": "none", "note": "not scored: a prospect without purchase history"}
    return {"value": fmt.DASH, "band": "none", "note": "not scored for this account"}


def account_view(
    row: Mapping[str, Any],
    *,
    explanations: Mapping[tuple[str, str], Explanation],
    rating: list[Mapping[str, Any]],
    history: Mapping[str, tuple[float, float, float]],
    phrases: Mapping[tuple[str, str, str], str],
    feature_text: Mapping[str, str],
    currency: str,
    card: Mapping[str, Any],
    n_accounts: int,
    modelled: Mapping[str, bool],
    months: pd.PeriodIndex | None,
    history_available: bool,
    move: dict[str, str] | None,
) -> dict[str, Any]:
    account = str(row["account_id"])
    prospect = fmt.flag(row.get("is_prospect"))
    horizon = horizon_phrases(card.get("horizon_days"))
    p_churn, p_expand = (
        fmt.as_float(row.get("churn_probability")),
        fmt.as_float(row.get("expansion_probability")),
    )
    at_risk, uplift = fmt.as_float(row.get("revenue_at_risk")), fmt.as_float(row.get("expected_uplift"))
    stake = []
    if p_churn is not None and at_risk is not None:
        stake.append(
            {
                "name": "Saving",
                "value": fmt.money(p_churn * at_risk, currency),
                "how": f"{fmt.percent(p_churn)} churn risk × {fmt.money(at_risk, currency)} revenue at risk",
            }
        )
    if p_expand is not None and uplift is not None:
        stake.append(
            {
                "name": "Growing",
                "value": fmt.money(p_expand * uplift, currency),
                "how": f"{fmt.percent(p_expand)} expansion likelihood × {fmt.money(uplift, currency)} expected uplift",
            }
        )
    # the chart of the target the reasons lead with comes first (expansion on a Grow page, churn on a Save)
    lead = next((t for i in (1, 2, 3) if (t := row.get(f"reason_{i}_target")) in TARGETS), TARGETS[0])
    waterfalls = [
        w
        for w in (
            waterfall_view(
                account, t, explanations.get((account, t)), phrases, feature_text, row.get(f"{t}_probability")
            )
            for t in sorted(TARGETS, key=lambda t: t != lead)
        )
        if w
    ]
    peer = None
    if not fmt.missing(row.get("peer_spend_percentile")) or not fmt.missing(row.get("peer_gap_to_p75")):
        multiple = row.get("potential_multiple")
        peer = {
            "spend": fmt.money(row.get("spend_365d"), currency),
            "percentile": fmt.percent(row.get("peer_spend_percentile"), 0),
            "gap": fmt.money(row.get("peer_gap_to_p75"), currency),
            "multiple": fmt.DASH if fmt.missing(multiple) else "× " + fmt.number(multiple, 1),
        }
    meta: list[str] = []
    for value in [
        *(fmt.text(row.get(c), "") for c in ("industry", "region", "status")),
        "prospect" if prospect else "",
    ]:
        if value.strip() and value not in meta:
            meta.append(value)
    action = fmt.text(row.get("action"))
    priority = fmt.as_float(row.get("priority_score"))
    return {
        "account_id": account,
        "name": display_name(row),
        "meta": meta,
        "rank": fmt.integer(row.get("rank")),
        "n_accounts": f"{n_accounts:,}",
        "tier": fmt.text(row.get("tier")),
        "tier_css": css_token(row.get("tier"), ("A", "B", "C", "D")),
        "action": action,
        "action_css": css_token(action, ACTIONS),
        "headline": ACTION_HEADLINE.get(action, action),
        "action_rule": _rule_sentence(row.get("action_rule")),
        "high_value": fmt.flag(row.get("high_value")),
        "prospect": prospect,
        "move": move,
        "reasons": split_reasons(row.get("reasons")),
        "stake": stake,
        "horizon": horizon,
        "churn": score_card(p_churn, modelled=modelled["churn"], prospect=prospect),
        "expansion": score_card(p_expand, modelled=modelled["expansion"], prospect=prospect),
        "at_risk": fmt.money(at_risk, currency),
        "uplift": fmt.money(uplift, currency) if modelled["expansion"] else "not modelled",
        "rating_score": fmt.number(row.get("rating_score"), 1),
        "grade": fmt.text(row.get("rating_grade")),
        "priority": fmt.number(priority, 0 if priority is None or abs(priority) >= 100 else 2),
        "waterfalls": waterfalls,
        "rating": rating_view(rating, row.get("rating_score")),
        "history": history_view(history, months, currency, history_available),
        "peer": peer,
        "as_of": fmt.text(row.get("as_of"), fmt.text(card.get("as_of"))),
        "model_version": fmt.text(row.get("model_version")),
        "data_digest": fmt.text(card.get("data_digest")),
        "config_digest": fmt.text(card.get("config_digest")),
    }


def _rule_sentence(rule: Any) -> str:
    """'Save: churn probability 0.89 >= 0.35 and ...' -> 'churn probability 0.89 ≥ 0.35 and ...'."""
    text = fmt.text(rule, "")
    for action in ACTIONS:
        if text.startswith(action + ":"):
            text = text[len(action) + 1 :].strip()
            break
    return text.replace(">=", "≥").replace("<=", "≤")


# ------------------------------------------------------------------------------------------------ portfolio page
MODEL_NAMES = {"lightgbm": "LightGBM", "lightgbm+logistic": "LightGBM + logistic regression"}


def _model_name(model: Mapping[str, Any]) -> str:
    """The card's model label in words (cards written before the label was recorded: LightGBM)."""
    label = str(model.get("model") or "lightgbm")
    return MODEL_NAMES.get(label, label)


def model_rows(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for model in sorted(
        card.get("models", []), key=lambda m: TARGETS.index(m["target"]) if m.get("target") in TARGETS else 9
    ):
        metrics = model.get("metrics", {}) or {}
        rows = [{"model": f"{_model_name(model)} (in use)", "champion": True, **_metric_cells(metrics)}]
        baselines = model.get("baselines", {}) or {}
        for name in sorted(baselines):
            rows.append(
                {
                    "model": "baseline: " + str(name).replace("_", " "),
                    "champion": False,
                    **_metric_cells(baselines[name]),
                }
            )
        gain = ""
        scored = {n: fmt.as_float((b or {}).get("roc_auc")) for n, b in baselines.items()}
        scored = {n: v for n, v in scored.items() if v is not None}
        champ = fmt.as_float(metrics.get("roc_auc"))
        if scored and champ is not None:
            best = max(sorted(scored), key=lambda n: scored[n])
            gain = (
                f"ROC-AUC {champ:.3f} vs {scored[best]:.3f} for the best baseline ({best.replace('_', ' ')}): "
                f"{champ - scored[best]:+.3f}"
            )
            lift, lift_b = (
                fmt.as_float(metrics.get("lift_at_20")),
                fmt.as_float(baselines[best].get("lift_at_20")),
            )
            if lift is not None and lift_b is not None:
                gain += f"; top-20% lift {lift:.2f}× vs {lift_b:.2f}×"
        out.append(
            {
                "target": str(model.get("target", "")),
                "title": TARGET_TITLE.get(model.get("target"), str(model.get("target", ""))),
                "name": fmt.text(model.get("name"), ""),
                "version": fmt.text(model.get("version"), ""),
                "rows": rows,
                "gain": gain,
            }
        )
    return out


def _metric_cells(metrics: Mapping[str, Any]) -> dict[str, str]:
    return {
        "roc_auc": fmt.number(metrics.get("roc_auc"), 3),
        "pr_auc": fmt.number(metrics.get("pr_auc"), 3),
        "lift_10": _lift(metrics.get("lift_at_10")),
        "lift_20": _lift(metrics.get("lift_at_20")),
        "brier": fmt.number(metrics.get("brier"), 3),
    }


def _lift(value: Any) -> str:
    number = fmt.as_float(value)
    return fmt.DASH if number is None else f"{number:.2f}×"


def band_counts(values: pd.Series) -> list[dict[str, str]]:
    v = values.dropna().astype(float)
    out = []
    for lo, hi, name in BAND_EDGES:
        mask = (v >= lo) & ((v < hi) if hi < 1.0 else (v <= hi + 1e-12))
        out.append({"band": name, "count": f"{int(mask.sum()):,}"})
    return out


def changes_view(
    current: pd.DataFrame, previous: pd.DataFrame, top_k: int, links: Mapping[str, str]
) -> dict[str, Any]:
    """New entrants, biggest rank moves, tier changes and drop-outs against the previous run's list."""
    prev = previous.assign(account_id=previous["account_id"].astype(str)).drop_duplicates("account_id")
    prev = prev.sort_values(["rank", "account_id"], kind="mergesort").set_index("account_id")
    cur = current.set_index("account_id")
    top_now = list(cur.index[:top_k])
    top_before = list(prev.index[:top_k])

    def entry(account: str, text: str, tone: str = "") -> dict[str, str]:
        return {
            "account_id": account,
            "name": display_name(
                {
                    "account_id": account,
                    "account_name": (
                        cur["account_name"].get(account)
                        if "account_name" in cur and account in cur.index
                        else prev["account_name"].get(account)
                        if "account_name" in prev
                        else None
                    ),
                }
            ),
            "href": links.get(account, ""),
            "text": text,
            "tone": tone,
        }

    new = [a for a in top_now if a not in prev.index]
    n_new_all = int((~cur.index.isin(prev.index)).sum())
    watched = sorted(set(top_now) | set(top_before))
    moves = []
    for account in watched:
        if account in cur.index and account in prev.index:
            delta = int(prev.loc[account, "rank"]) - int(cur.loc[account, "rank"])
            if delta:
                moves.append((delta, int(cur.loc[account, "rank"]), account))
    up = sorted((m for m in moves if m[0] > 0), key=lambda m: (-m[0], m[1], m[2]))[:8]
    down = sorted((m for m in moves if m[0] < 0), key=lambda m: (m[0], m[1], m[2]))[:8]
    tier_pairs: dict[tuple[str, str], int] = {}
    tier_list = []
    both = cur.index[cur.index.isin(prev.index)]
    for account in both:
        before, now = fmt.text(prev.loc[account, "tier"]), fmt.text(cur.loc[account, "tier"])
        if before != now:
            tier_pairs[(before, now)] = tier_pairs.get((before, now), 0) + 1
            if account in top_now:
                tier_list.append((int(cur.loc[account, "rank"]), account, before, now))
    dropped = [a for a in top_before if a not in set(top_now)]

    def rank_text(account: str) -> str:
        return f"#{int(prev.loc[account, 'rank']):,} → #{int(cur.loc[account, 'rank']):,}"

    return {
        "n_new": f"{n_new_all:,}",
        "n_gone": f"{int((~prev.index.isin(cur.index)).sum()):,}",
        "new": [entry(a, f"new at #{int(cur.loc[a, 'rank']):,}", "new") for a in new[:15]],
        "n_new_top": len(new),
        "up": [entry(a, f"{rank_text(a)} (▲{d:,})", "up") for d, _, a in up],
        "down": [entry(a, f"{rank_text(a)} (▼{-d:,})", "down") for d, _, a in down],
        "tiers": [{"change": f"{b} → {n}", "count": f"{c:,}"} for (b, n), c in sorted(tier_pairs.items())],
        "tier_list": [entry(a, f"tier {b} → {n} (now #{r:,})") for r, a, b, n in sorted(tier_list)[:20]],
        "dropped": [
            entry(
                a,
                f"was #{int(prev.loc[a, 'rank']):,}, now "
                + (f"#{int(cur.loc[a, 'rank']):,}" if a in cur.index else "not ranked"),
            )
            for a in dropped[:15]
        ],
        "n_dropped": len(dropped),
    }
