"""The portfolio by segment: tiers, actions, value at stake and model quality per value of a profile column.

Segments are columns of the accounts table: those named in `report.segments`, or by default industry and
region where the accounts have them. Each account counts in exactly one row of a segment's table (accounts
without a value form a '(blank)' row, and past `MAX_ROWS` the smallest segments share one row), so the rows
of every table add up to the portfolio's totals. Model quality comes from the latest earlier list whose
outcomes are known (`potential.export.history`) and is left out while there is none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from potential.errors import ConfigError, echo
from potential.reports import format as fmt

DEFAULT_SEGMENTS = ("industry", "region")
BLANK = "(blank)"
OTHER_SUFFIX = " other values"
TOTAL = "\x00all"  # the key of the whole list's row in `quality` (no segment value can be it)
MAX_ROWS = 12
TARGETS = ("churn", "expansion")


def resolve_segments(
    setting: Sequence[str] | None, available: Iterable[object], where: str, fix: str
) -> tuple[str, ...]:
    """The segment columns to show: the configured ones, each of which must be in `available`, or (setting
    None) the default ones that are. A missing named column is refused (exit code 2) with the columns there
    are; `where` names what was searched ("the accounts table") and `fix` how to get the column."""
    columns = [str(c) for c in available if str(c) != "account_id"]
    if setting is None:
        return tuple(c for c in DEFAULT_SEGMENTS if c in columns)
    missing = [str(s) for s in setting if str(s) not in columns]
    if missing:
        named = ", ".join(f"'{echo(m)}'" for m in missing)
        there = ", ".join(echo(c, 40) for c in columns) or "none"
        raise ConfigError(
            f"report.segments names {named}, but {where} has no such column (it has: {there}); {fix}"
        )
    return tuple(str(s) for s in setting)


def segment_labels(values: pd.Series) -> pd.Series:
    """Segment names as text; blank and missing values become BLANK."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.where(text != "", BLANK)


def _grouped(labels: pd.Series, priority: pd.Series, limit: int) -> tuple[pd.Series, list[str]]:
    """Labels with all but the `limit` segments holding the most priority folded into one row, and the order
    of the rows (most priority first, the folded row last)."""
    totals = priority.groupby(labels).sum()
    order = sorted(totals.index, key=lambda name: (-float(totals[name]), name == BLANK, str(name)))
    if len(order) <= limit:
        return labels, order
    kept, rest = order[: limit - 1], order[limit - 1 :]
    other = f"{len(rest)}{OTHER_SUFFIX}"
    return labels.where(labels.isin(kept), other), [*kept, other]


def breakdown(
    targets: pd.DataFrame,
    column: str,
    tiers: Sequence[str],
    actions: Sequence[str],
    limit: int = MAX_ROWS,
) -> pd.DataFrame:
    """One row per segment of `column` (index: segment name): accounts, tier_<name> and action_<name> counts,
    saving value (P(churn) x revenue at risk), growing value (P(expand) x expected uplift) and priority.

    The rows partition the accounts of `targets`, so every numeric column sums to the portfolio's total.
    """
    labels = segment_labels(targets[column]).reset_index(drop=True)
    frame = targets.reset_index(drop=True)
    priority = _number(frame, "priority_score").clip(lower=0)
    labels, order = _grouped(labels, priority, limit)
    parts = {
        "accounts": pd.Series(1, index=frame.index),
        **{f"tier_{t}": (frame["tier"].astype(str) == t).astype(int) for t in tiers},
        **{f"action_{a}": (frame["action"].astype(str) == a).astype(int) for a in actions},
        "saving_value": _number(frame, "churn_probability") * _number(frame, "revenue_at_risk"),
        "growing_value": _number(frame, "expansion_probability") * _number(frame, "expected_uplift"),
        "priority": priority,
    }
    table = pd.DataFrame(parts).groupby(labels, sort=False).sum()
    table.index.name = column
    return table.reindex(order)


def fold(labels: pd.Series, order: Sequence[str]) -> pd.Series:
    """Segment names as `breakdown` groups them: a name that is not a row of `order` goes to its folded
    'other values' row when there is one (and stays as it is otherwise)."""
    other = next((name for name in order if name.endswith(OTHER_SUFFIX)), None)
    if other is None:
        return labels
    return labels.where(labels.isin(list(order)), other)


def quality(scored: pd.DataFrame, labels: pd.Series, order: Sequence[str]) -> pd.DataFrame:
    """How an earlier list did per segment: `scored` holds its rows (account_id, churn_probability,
    expansion_probability) with what happened next (churn, expansion 0/1; missing = no outcome). One row per
    name of `order` and a last row over the whole list: per target the accounts observed, the predicted
    count (sum of probabilities), the actual count and the ROC-AUC (NaN unless both outcomes occur). `labels`
    gives each account's segment (index account_id, folded with `fold`); the last row, keyed TOTAL, is the
    whole list."""
    frame = pd.DataFrame({"account_id": scored["account_id"].astype(str).to_numpy()})
    frame["segment"] = frame["account_id"].map(labels).fillna(BLANK).to_numpy()
    for target in TARGETS:
        for prefix, column in (("p", f"{target}_probability"), ("y", target)):
            values = scored[column] if column in scored.columns else pd.Series(np.nan, index=scored.index)
            frame[f"{prefix}_{target}"] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    rows = []
    for name in [*order, TOTAL]:
        part = frame if name == TOTAL else frame[frame["segment"] == name]
        row: dict[str, object] = {"segment": name}
        for target in TARGETS:
            both = part[[f"p_{target}", f"y_{target}"]].dropna()
            y_true = both[f"y_{target}"].to_numpy(dtype=float) > 0
            p_hat = both[f"p_{target}"].to_numpy(dtype=float)
            row[f"{target}_observed"] = len(both)
            row[f"{target}_predicted"] = float(p_hat.sum()) if len(both) else np.nan
            row[f"{target}_actual"] = int(y_true.sum())
            row[f"{target}_roc_auc"] = (
                float(roc_auc_score(y_true, p_hat)) if 0 < y_true.sum() < len(y_true) else np.nan
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("segment")


def segment_views(
    targets: pd.DataFrame,
    segments: pd.DataFrame | None,
    columns: Sequence[str] | None,
    tiers: Sequence[str],
    actions: Sequence[str],
    scored: pd.DataFrame | None,
    currency: str,
) -> list[dict[str, Any]]:
    """One table per segment column for the portfolio page (already formatted).

    `segments`: account_id and the segment columns (default: the columns of `targets`); `columns`: the
    segments to show (None: DEFAULT_SEGMENTS where present); `scored`: an earlier list with its outcomes
    (as_of, horizon_days and the columns `quality` reads), or None to leave model quality out.
    """
    frame = targets.assign(account_id=targets["account_id"].astype(str))
    source = frame if segments is None else segments.assign(account_id=segments["account_id"].astype(str))
    source = source.drop_duplicates("account_id").set_index("account_id")
    if columns is None:
        columns = [c for c in DEFAULT_SEGMENTS if c in source.columns]
    money = any(
        c in frame.columns and pd.to_numeric(frame[c], errors="coerce").notna().any()
        for c in ("revenue_at_risk", "expected_uplift")
    )
    with_quality = scored is not None and len(scored) > 0
    total_priority = float(_number(frame, "priority_score").clip(lower=0).sum())
    views = []
    for column in columns:
        if column not in source.columns:
            continue
        joined = frame.drop(columns=[column], errors="ignore").join(source[[column]], on="account_id")
        table = breakdown(joined, column, tiers, actions)
        order = [str(name) for name in table.index]
        totals = breakdown(joined.assign(**{column: TOTAL}), column, tiers, actions).iloc[0]
        labels = fold(segment_labels(source[column]), order)
        grades = quality(scored, labels, order) if with_quality and scored is not None else None

        quality_as_of = horizon = fmt.DASH
        if grades is not None and scored is not None:
            quality_as_of = fmt.text(scored["as_of"].iloc[0]) if "as_of" in scored.columns else fmt.DASH
            if "horizon_days" in scored.columns:
                horizon = fmt.integer(scored["horizon_days"].iloc[0])
        views.append(
            {
                "column": column,
                "title": column.replace("_", " ").capitalize(),
                "tiers": list(tiers),
                "actions": list(actions),
                "money": money,
                "rows": [
                    _cells(str(name), row, total_priority, tiers, actions, currency, grades)
                    for name, row in table.iterrows()
                ],
                "total": _cells(TOTAL, totals, total_priority, tiers, actions, currency, grades),
                "quality": grades is not None,
                "quality_as_of": quality_as_of,
                "horizon": horizon,
            }
        )
    return views


def _cells(
    name: str,
    row: pd.Series,
    total_priority: float,
    tiers: Sequence[str],
    actions: Sequence[str],
    currency: str,
    grades: pd.DataFrame | None,
) -> dict[str, Any]:
    """One row of a segment table as the page shows it."""
    share = float(row["priority"]) / total_priority if total_priority > 0 else 0.0
    out: dict[str, Any] = {
        "name": "All accounts" if name == TOTAL else name,
        "accounts": f"{int(row['accounts']):,}",
        "tiers": [f"{int(row[f'tier_{t}']):,}" for t in tiers],
        "actions": [f"{int(row[f'action_{a}']):,}" for a in actions],
        "saving": fmt.money(row["saving_value"], currency),
        "growing": fmt.money(row["growing_value"], currency),
        "share": fmt.percent(share, 0),
        "bar": f"{share * 100:.1f}",
    }
    if grades is not None:
        grade = grades.loc[name]
        for target in TARGETS:
            out[target] = {
                "predicted": fmt.number(grade[f"{target}_predicted"], 1),
                "actual": fmt.integer(grade[f"{target}_actual"]),
                "auc": fmt.number(grade[f"{target}_roc_auc"], 2),
                "observed": fmt.integer(grade[f"{target}_observed"]),
            }
    return out


def _number(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(0.0, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").fillna(0.0).astype(float)


def segment_frame(accounts: pd.DataFrame, ids: Iterable[object], columns: Sequence[str]) -> pd.DataFrame:
    """account_id and the segment `columns` of the accounts `ids` (one row each; blank where the accounts
    table has no row), as `rank` stores them for the report."""
    wanted = pd.Index([str(a) for a in ids], name="account_id")
    profile = accounts.assign(account_id=accounts["account_id"].astype(str)).drop_duplicates("account_id")
    table = profile.set_index("account_id").reindex(wanted)
    out = pd.DataFrame({"account_id": wanted.to_numpy()})
    for column in columns:
        out[column] = segment_labels(table[column]).to_numpy()
    return out
