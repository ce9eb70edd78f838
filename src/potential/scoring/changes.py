"""What changed since the previous list: the CRM delta (no I/O).

An account is listed when its tier or its action changed, or when its priority moved by more than
`ranking.change_threshold` of its previous priority; an account new to the list is listed as such. Accounts
that left the list are not (they have no current row to write back).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHANGE_COLUMNS = (
    "account_id",
    "account_name",
    "change",
    "previous_as_of",
    "previous_tier",
    "tier",
    "previous_action",
    "action",
    "previous_priority",
    "priority_score",
    "priority_change",
    "rank",
)


def list_changes(current: pd.DataFrame, previous: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Rows of `current` (a ranked list) that changed against `previous` (the earlier list's history rows)."""
    prev = previous.drop_duplicates("account_id").set_index("account_id")
    ids = current["account_id"].astype(str)
    before_tier = ids.map(prev["tier"]) if len(prev) else pd.Series(np.nan, index=current.index)
    before_action = ids.map(prev["action"]) if len(prev) else pd.Series(np.nan, index=current.index)
    before_priority = (
        pd.to_numeric(ids.map(prev["priority_score"]), errors="coerce")
        if len(prev)
        else pd.Series(np.nan, index=current.index)
    )
    new = ~ids.isin(prev.index)
    tier_moved = ~new & (before_tier.astype(str) != current["tier"].astype(str))
    action_moved = ~new & (before_action.astype(str) != current["action"].astype(str))
    delta = current["priority_score"].astype(float) - before_priority
    relative = delta.abs() / before_priority.abs().where(before_priority.abs() > 0, np.nan)
    moved = ~new & ((relative > threshold) | ((before_priority == 0) & (delta.abs() > 0)))
    reasons = np.select(
        [new, tier_moved & action_moved, tier_moved, action_moved, moved],
        ["new", "tier and action", "tier", "action", "priority"],
        default="",
    )
    out = pd.DataFrame(
        {
            "account_id": ids,
            "account_name": current.get("account_name", pd.Series("", index=current.index)),
            "change": reasons,
            "previous_as_of": previous["as_of"].iloc[0] if len(previous) else "",
            "previous_tier": before_tier.fillna("").astype(str),
            "tier": current["tier"],
            "previous_action": before_action.fillna("").astype(str),
            "action": current["action"],
            "previous_priority": before_priority.round(6),
            "priority_score": current["priority_score"],
            "priority_change": delta.round(6),
            "rank": current["rank"],
        }
    )
    return out[out["change"] != ""].reset_index(drop=True)[list(CHANGE_COLUMNS)]
