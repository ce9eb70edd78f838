"""What the workspace's stored lists add to the pages: each account's score history, the change since the
previous list split into the part due to a new model and the part due to new data, the drivers whose
contributions moved most, and for the portfolio the new tier-A accounts, the accounts newly on Save and the
largest movers.

The split (docs/design.md section 4): with the previous list made as of T1 by model versions v1 on features
X1 and this one as of T2 by v2 on X2, a score s moved by s(v2, X2) - s(v1, X1), of which
s(v2, X2) - s(v1, X2) is due to the new model and s(v1, X2) - s(v1, X1) to the new data. `rank` stores
s(v1, X2) in the history (`*_previous_model`); when v1 == v2 the model's part is zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from potential.reports import charts, pages
from potential.reports import format as fmt

SPLIT = (
    ("expansion_probability", "Expansion likelihood"),
    ("churn_probability", "Churn risk"),
    ("priority_score", "Priority"),
)
MOVED_DRIVERS = 3
MIN_DRIVER_MOVE = 0.0005  # contributions moving less than 0.05 probability points are not worth a line
LIST_LIMIT = 15
MOVERS_LIMIT = 10
SAVE = "Save"

Contributions = dict[str, tuple[float, float]]  # feature -> (contribution, value)


@dataclass(frozen=True)
class Lists:
    """The stored lists the pages speak about: the current one, the previous one, and each paged account's
    scores over every stored as-of up to the current one."""

    as_of: str
    previous_as_of: str | None
    current: pd.DataFrame  # the list of as_of, index account_id
    previous: pd.DataFrame | None  # the list of previous_as_of, index account_id
    series: dict[
        str, list[tuple[str, float | None, float | None, float | None]]
    ]  # date, expand, churn, priority


def build_lists(history: pd.DataFrame | None, as_of: str | None, ids: set[str]) -> Lists | None:
    """`history`: stored rows (export.history columns); None when the history does not hold the current list."""
    if history is None or as_of is None or not len(history):
        return None
    frame = history.assign(as_of=history["as_of"].astype(str), account_id=history["account_id"].astype(str))
    frame = frame[frame["as_of"] <= as_of]
    current = _one_list(frame, as_of)
    if current is None:
        return None
    earlier = sorted(d for d in frame["as_of"].unique() if d < as_of)
    previous_as_of = earlier[-1] if earlier else None
    previous = _one_list(frame, previous_as_of) if previous_as_of else None
    mine = frame[frame["account_id"].isin(ids)].sort_values(["account_id", "as_of"], kind="mergesort")
    series: dict[str, list[tuple[str, float | None, float | None, float | None]]] = {}
    columns = [mine[c] if c in mine.columns else pd.Series(np.nan, index=mine.index) for c, _ in SPLIT]
    for account, day, expand, churn, priority in zip(
        mine["account_id"], mine["as_of"], *columns, strict=True
    ):
        series.setdefault(account, []).append(
            (day, fmt.as_float(expand), fmt.as_float(churn), fmt.as_float(priority))
        )
    return Lists(as_of, previous_as_of, current, previous, series)


def _one_list(frame: pd.DataFrame, as_of: str | None) -> pd.DataFrame | None:
    rows = frame[frame["as_of"] == as_of]
    if rows.empty:
        return None
    return rows.drop_duplicates("account_id").set_index("account_id")


def contributions_of(
    explanations: Mapping[tuple[str, str], pages.Explanation],
) -> dict[tuple[str, str], Contributions]:
    """(account, target) -> feature -> (contribution, value), from `pages.collect_explanations`."""
    return {key: {f: (c, v) for f, c, v in drivers} for key, (_, drivers) in explanations.items()}


# ------------------------------------------------------------------------------------------------ account page
def account_memory(
    account: str,
    lists: Lists | None,
    now: Mapping[tuple[str, str], Contributions],
    before: Mapping[tuple[str, str], Contributions],
    feature_text: Mapping[str, str],
) -> dict[str, Any] | None:
    """The account page's "Score history" and "What changed since <previous as-of>" (None without a history)."""
    if lists is None:
        return None
    points = lists.series.get(account, [])
    chart = None
    if len(points) > 1:
        dates, expand, churn, priority = (list(v) for v in zip(*points, strict=True))
        chart = charts.score_history(dates, expand, churn, priority)
    view: dict[str, Any] = {
        "as_of": lists.as_of,
        "previous_as_of": lists.previous_as_of,
        "n_lists": len(points),
        "first": points[0][0] if points else lists.as_of,
        "chart": chart,
        "split": None,
        "drivers": [],
        "drivers_stored": False,
        "note": "",
    }
    if lists.previous_as_of is None or lists.previous is None:
        view["note"] = (
            f"This is the first list in this workspace's history (as of {lists.as_of}): there is no earlier list "
            "to compare with yet."
        )
        return view
    if account not in lists.previous.index:
        view["note"] = f"Not on the list of {lists.previous_as_of}: new to the list since then."
        return view
    current, previous = lists.current.loc[account], lists.previous.loc[account]
    # build_lists keeps one row per account, so .loc gives a row
    assert isinstance(current, pd.Series) and isinstance(previous, pd.Series)
    view["split"] = split_view(current, previous, lists.previous_as_of)
    view["drivers"] = moved_drivers(account, now, before, feature_text)
    view["drivers_stored"] = any(key[0] == account for key in before)
    return view


def split_parts(
    now: float | None, before: float | None, under_previous: float | None, same_model: bool
) -> tuple[float | None, float | None, float | None]:
    """(total change, model's part, data's part); parts None when s(v1, X2) is unknown."""
    if now is None or before is None:
        return None, None, None
    total = now - before
    if same_model:
        return total, 0.0, total
    if under_previous is None:
        return total, None, None
    return total, now - under_previous, under_previous - before


def split_view(current: pd.Series, previous: pd.Series, previous_as_of: str) -> dict[str, Any]:
    """Each score before and now, its change, and the change split into the new model's and the new data's part."""
    old_models = fmt.text(previous.get("model_version"), "")
    new_models = fmt.text(current.get("model_version"), "")
    same = old_models == new_models
    stored_for = fmt.text(current.get("previous_as_of"), "")
    stored_models = fmt.text(current.get("previous_model_version"), "")
    usable = not same and stored_for == previous_as_of and stored_models == old_models
    reason = fmt.text(current.get("previous_model_note"), "")
    if same:
        note = f"Same models as on {previous_as_of} ({_models(new_models)}): the whole change comes from new data."
    elif not usable:
        why = (
            "this list was stored without its scores under the previous models"
            if not stored_for
            else f"the list of {previous_as_of} was ranked again after this one, so the stored split does not apply"
        )
        note = (
            f"The models changed ({_models(old_models)} → {_models(new_models)}), but {why}; rank this as-of again "
            "to split the change."
        )
    elif reason:
        note = f"The models changed ({_models(old_models)} → {_models(new_models)}); {reason}"
    else:
        note = (
            f"The models changed ({_models(old_models)} → {_models(new_models)}). New model = this account's score "
            "under the new models minus under the previous ones, both on today's data; new data = the rest."
        )
    rows = []
    for score, title in SPLIT:
        now, then = fmt.as_float(current.get(score)), fmt.as_float(previous.get(score))
        under = fmt.as_float(current.get(f"{score}_previous_model")) if usable else None
        total, model, data = split_parts(now, then, under, same)
        if score == "priority_score":
            digits = _digits(now, then)
            shown = [fmt.number(v, digits) for v in (then, now)]
            changes = [_signed(v, digits) for v in (total, model, data)]
        else:
            shown = [fmt.percent(v) for v in (then, now)]
            changes = [fmt.points(v) for v in (total, model, data)]
        rows.append(
            {
                "title": title,
                "before": shown[0],
                "now": shown[1],
                "change": changes[0],
                "model": changes[1],
                "data": changes[2],
                "tone": _tone(score, total),
            }
        )
    return {"note": note, "rows": rows, "split": same or (usable and not reason)}


def _models(label: str) -> str:
    return label.replace(";", " · ").replace(":", " ") if label else "none"


def _digits(*values: float | None) -> int:
    """Decimals for priorities shown side by side: none once any of them reaches 100."""
    return 0 if any(v is not None and abs(v) >= 100 for v in values) else 2


def _signed(value: float | None, digits: int) -> str:
    """'+1,064', '-0.35': a signed number with thousands separators."""
    if value is None:
        return fmt.DASH
    body = fmt.number(abs(value), digits)
    return ("-" if value < 0 and body.strip("0.,") else "+") + body


def _tone(score: str, change: float | None) -> str:
    if change is None or abs(change) < 1e-12:
        return ""
    up_is_good = score != "churn_probability"
    return "good" if (change > 0) == up_is_good else "bad"


def moved_drivers(
    account: str,
    now: Mapping[tuple[str, str], Contributions],
    before: Mapping[tuple[str, str], Contributions],
    feature_text: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Per target, the drivers whose contributions moved most since the previous list."""
    out = []
    for target in pages.TARGETS:
        new, old = now.get((account, target)), before.get((account, target))
        if not new or not old:
            continue
        moves = []
        for feature in sorted(set(new) | set(old)):
            c_new, v_new = new.get(feature, (0.0, float("nan")))
            c_old, v_old = old.get(feature, (0.0, float("nan")))
            if abs(c_new - c_old) >= MIN_DRIVER_MOVE:
                moves.append((-abs(c_new - c_old), feature, c_old, c_new, v_old, v_new))
        items = []
        for _, feature, c_old, c_new, v_old, v_new in sorted(moves)[:MOVED_DRIVERS]:
            label = feature_text.get(feature) or feature.replace("_", " ")
            values = f"{_short(v_old)} → {_short(v_new)}"
            items.append(
                {
                    "label": label,
                    "inputs": values if values != f"{fmt.DASH} → {fmt.DASH}" else "",
                    "contributions": f"{fmt.points(c_old)} → {fmt.points(c_new)}",
                    "move": fmt.points(c_new - c_old),
                    "tone": ("bad" if c_new > c_old else "good")
                    if target == "churn"
                    else ("good" if c_new > c_old else "bad"),
                }
            )
        out.append({"title": pages.TARGET_TITLE[target], "moves": items})
    return out


def _short(value: float) -> str:
    number = fmt.as_float(value)
    if number is None:
        return fmt.DASH
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:,.2f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------------------------------------ portfolio page
def portfolio_changes(
    lists: Lists | None, links: Mapping[str, str], limit: int = LIST_LIMIT, movers_limit: int = MOVERS_LIMIT
) -> dict[str, Any] | None:
    """New entrants to the first tier, accounts newly on Save and the largest movers by priority, each with
    the previous and the new values (None without a history; `first_list` when nothing came before)."""
    if lists is None:
        return None
    if lists.previous is None or lists.previous_as_of is None:
        return {"first_list": True, "as_of": lists.as_of}
    cur, prev = lists.current, lists.previous
    first_tier = sorted(cur["tier"].astype(str).unique())[0] if len(cur) else "A"
    ranks = pd.to_numeric(cur["rank"], errors="coerce")
    order = sorted(cur.index, key=lambda a: (ranks[a] if not pd.isna(ranks[a]) else np.inf, a))
    known = set(prev.index)

    def was(account: str, column: str) -> str:
        return fmt.text(prev.at[account, column], "") if account in known and column in prev.columns else ""

    def item(account: str, text: str, detail: str, tone: str = "") -> dict[str, str]:
        name_source = cur if account in cur.index else prev
        name = name_source.at[account, "account_name"] if "account_name" in name_source.columns else None
        return {
            "account_id": account,
            "name": pages.display_name({"account_id": account, "account_name": name}),
            "href": links.get(account, ""),
            "text": text,
            "detail": detail,
            "tone": tone,
        }

    tier_now = cur["tier"].astype(str)
    new_tier = [a for a in order if tier_now[a] == first_tier and was(a, "tier") != first_tier]
    action_now = cur["action"].astype(str)
    new_save = [a for a in order if action_now[a] == SAVE and was(a, "action") != SAVE]
    both = [a for a in cur.index if a in known]
    p_now = pd.to_numeric(cur["priority_score"], errors="coerce")
    p_then = pd.to_numeric(prev["priority_score"], errors="coerce")
    deltas = [(float(p_now[a] - p_then[a]), a) for a in both if np.isfinite(p_now[a] - p_then[a])]
    movers = sorted((d for d in deltas if d[0] != 0), key=lambda d: (-abs(d[0]), d[1]))

    def priority_text(a: str) -> str:
        now, then = fmt.as_float(p_now[a]), fmt.as_float(p_then.get(a)) if a in known else None
        digits = _digits(now, then)
        before = fmt.number(then, digits) if a in known else "new"
        return f"priority {before} → {fmt.number(now, digits)}"

    return {
        "first_list": False,
        "as_of": lists.as_of,
        "previous_as_of": lists.previous_as_of,
        "first_tier": first_tier,
        "n_new_tier": len(new_tier),
        "new_tier": [
            item(a, f"{was(a, 'tier') or 'new'} → {first_tier}", priority_text(a), "up")
            for a in new_tier[:limit]
        ],
        "n_new_save": len(new_save),
        "new_save": [
            item(
                a,
                f"{was(a, 'action') or 'new'} → {SAVE}",
                f"churn risk {fmt.percent(prev.at[a, 'churn_probability']) if a in known else 'new'} → "
                f"{fmt.percent(cur.at[a, 'churn_probability'])}",
                "down",
            )
            for a in new_save[:limit]
        ],
        "n_movers": len(movers),
        "movers": [
            item(
                a, _signed(d, _digits(d, fmt.as_float(p_now[a]))), priority_text(a), "up" if d > 0 else "down"
            )
            for d, a in movers[:movers_limit]
        ],
        "limit": limit,
    }
