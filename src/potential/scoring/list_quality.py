"""How earlier lists did: each stored list scored against what happened over its horizon (no I/O).

A list made as of T predicted, for every account, P(churn) and P(expand) over [T, T + h) and the money at stake
(revenue at risk, expected uplift). Once the data holds the whole window — T + h - 1 day on or before the last
transaction, the same rule `backtest` applies — those predictions can be set beside the outcomes the models
learn from (`labels.targets`, at T, from the full data): churn, expansion, the baseline an account was
expected to spend (lost when it churned) and its spend above the growth bar (gained when it expanded).

Per as-of, for the whole list, per tier and per action (`QUALITY_COLUMNS`):

- accounts: on the list; observed: those with an outcome (active in the lookback before T; prospects and
  lapsed accounts have none). Every other column sums over the observed accounts only, so the predicted and
  the actual figures speak for the same accounts.
- predicted_churners = sum of P(churn), actual_churners = churned accounts; the same for expanders, over
  the observed accounts whose expansion is known (an account younger than one horizon at T has no
  baseline to grow against: its expansion outcome is missing, `labels.targets`). A calibrated model has
  the two close for the whole list; per tier and action they show where it errs.
- expected_revenue_lost = sum of P(churn) x revenue_at_risk, revenue_lost = sum of the churners' baseline
  spend; expected_revenue_gained = sum of P(expand) x expected_uplift, revenue_gained = sum of the
  expanders' spend above the growth bar. Money is in the data's currency.

A sum of probabilities is blank (not 0) when no account of the row has that probability (target not
modelled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

QUALITY_COLUMNS = (
    "as_of",
    "horizon_end",
    "by",
    "group",
    "accounts",
    "observed",
    "predicted_churners",
    "actual_churners",
    "predicted_expanders",
    "actual_expanders",
    "expected_revenue_lost",
    "revenue_lost",
    "expected_revenue_gained",
    "revenue_gained",
)
ACTION_ORDER = ("Save", "Grow", "Nurture", "Maintain")
MAX_AS_OFS = 12  # the latest earlier lists scored per rank: each needs its outcomes computed from the events


def horizon_passed(as_of: pd.Timestamp, horizon_days: int, last_date: pd.Timestamp) -> bool:
    """Whether the window [as_of, as_of + horizon) is all in data that runs to `last_date` (inclusive)."""
    return as_of + pd.Timedelta(days=horizon_days) <= last_date + pd.Timedelta(days=1)


def qualifying_as_ofs(
    as_ofs: Iterable[str], before: str, horizon_days: int, last_date: pd.Timestamp
) -> list[str]:
    """The stored as-ofs (YYYY-MM-DD) earlier than `before` whose horizon has passed, oldest first, at most
    the latest MAX_AS_OFS."""
    done = sorted(
        d for d in set(as_ofs) if d < before and horizon_passed(pd.Timestamp(d), horizon_days, last_date)
    )
    return done[-MAX_AS_OFS:]


def list_quality(
    history: pd.DataFrame, outcomes: Mapping[str, pd.DataFrame], horizon_days: int
) -> pd.DataFrame:
    """One row per as-of of `outcomes` and group (the whole list, each tier, each action): QUALITY_COLUMNS.

    `history`: the stored lists (as_of, account_id, tier, action, churn_probability, expansion_probability,
    revenue_at_risk, expected_uplift). `outcomes`: per as-of (YYYY-MM-DD), what happened over its horizon,
    index account_id, columns churn, expansion, baseline_spend, uplift (`Engine.outcomes`).
    """
    rows: list[dict[str, object]] = []
    for as_of in sorted(outcomes):
        listed = history[history["as_of"].astype(str) == as_of]
        if listed.empty:
            continue
        frame = _joined(listed, outcomes[as_of])
        end = (pd.Timestamp(as_of) + pd.Timedelta(days=horizon_days - 1)).date().isoformat()
        rows.append({"as_of": as_of, "horizon_end": end, "by": "all", "group": "all", **_sums(frame)})
        for by, names in (("tier", sorted(frame["tier"].unique())), ("action", _actions(frame["action"]))):
            for name in names:
                part = frame[frame[by] == name]
                rows.append({"as_of": as_of, "horizon_end": end, "by": by, "group": name, **_sums(part)})
    return pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))


def _joined(listed: pd.DataFrame, outcome: pd.DataFrame) -> pd.DataFrame:
    """The list's rows with their outcome columns (NaN where the account has no outcome)."""
    frame = pd.DataFrame(
        {
            "account_id": listed["account_id"].astype(str).to_numpy(),
            "tier": listed["tier"].astype(str).to_numpy(),
            "action": listed["action"].astype(str).to_numpy(),
        }
    )
    for column in ("churn_probability", "expansion_probability", "revenue_at_risk", "expected_uplift"):
        values = listed[column] if column in listed.columns else pd.Series(np.nan, index=listed.index)
        frame[column] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    seen = outcome.copy()
    seen.index = seen.index.astype(str)
    seen = seen[~seen.index.duplicated()]
    for column in ("churn", "expansion", "baseline_spend", "uplift"):
        values = seen[column] if column in seen.columns else pd.Series(np.nan, index=seen.index)
        frame[f"y_{column}"] = frame["account_id"].map(pd.to_numeric(values, errors="coerce")).to_numpy()
    frame["observed"] = frame["account_id"].isin(seen.index).to_numpy()
    return frame


def _sums(frame: pd.DataFrame) -> dict[str, object]:
    seen = frame[frame["observed"]]
    churned = seen["y_churn"].fillna(0) > 0
    expanded = seen["y_expansion"].fillna(0) > 0
    p_churn = seen["churn_probability"]
    p_expand = seen["expansion_probability"].where(seen["y_expansion"].notna())
    return {
        "accounts": len(frame),
        "observed": len(seen),
        "predicted_churners": _round(p_churn.sum(min_count=1), 3),
        "actual_churners": int(churned.sum()),
        "predicted_expanders": _round(p_expand.sum(min_count=1), 3),
        "actual_expanders": int(expanded.sum()),
        "expected_revenue_lost": _round((p_churn * seen["revenue_at_risk"].fillna(0)).sum(min_count=1), 2),
        "revenue_lost": round(float(seen.loc[churned, "y_baseline_spend"].fillna(0).sum()), 2),
        "expected_revenue_gained": _round((p_expand * seen["expected_uplift"].fillna(0)).sum(min_count=1), 2),
        "revenue_gained": round(float(seen.loc[expanded, "y_uplift"].fillna(0).clip(lower=0).sum()), 2),
    }


def _round(value: float, digits: int) -> float:
    return float("nan") if pd.isna(value) else round(float(value), digits)


def _actions(actions: pd.Series) -> list[str]:
    present = set(actions)
    return [a for a in ACTION_ORDER if a in present] + sorted(present - set(ACTION_ORDER))
