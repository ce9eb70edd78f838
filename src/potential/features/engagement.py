"""Engagement features from activities (meetings, emails, tickets, executive contacts) before as_of."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.features.history import distinct_count
from potential.features.timebase import day_of, rel_change, to_days

ACTIVITY_WINDOWS = (30, 90, 180, 365)
KIND_WINDOWS = (90, 365)
EXEC_WINDOWS = (90, 180, 365)
MAX_KINDS = 8
EXEC_PATTERN = re.compile(r"exec|c-level|cxo|ceo|cfo|cio|cto|vp|director|board", re.IGNORECASE)


def kind_slug(kind: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "_", str(kind).strip().lower()).strip("_")
    return slug or "other"


@dataclass(frozen=True)
class ActivityArrays:
    n_accounts: int
    code: np.ndarray
    t: np.ndarray
    kind: np.ndarray  # int code into kinds, -1 for rare kinds
    kinds: tuple[str, ...]  # slugs of the most frequent kinds
    executive: np.ndarray  # bool: an executive-level contact
    contact: np.ndarray | None  # int contact code or None

    @classmethod
    def build(
        cls,
        activities: pd.DataFrame,
        account_index: pd.Index,
        as_of: pd.Timestamp,
        kinds: tuple[str, ...] | None = None,
    ) -> ActivityArrays:
        """Kinds are the most frequent ones before `as_of`, so later events cannot change the feature set.

        `kinds` fixes them from outside (a partitioned engine counts them across every partition first).
        """
        code = account_index.get_indexer(activities["account_id"])
        keep = code >= 0
        act = activities.loc[keep]
        # classify distinct values once, then broadcast by code (millions of rows, a handful of kinds)
        raw_codes, raw_kinds = pd.factorize(act["kind"].astype(str))
        slug_of = np.array([kind_slug(k) for k in raw_kinds], dtype=object)
        if kinds is None:
            kinds = top_kinds(kind_counts(act, as_of))
        lookup = {k: i for i, k in enumerate(kinds)}
        kind = (
            np.array([lookup.get(k, -1) for k in slug_of], dtype=np.int64)[raw_codes]
            if len(raw_codes)
            else np.empty(0, np.int64)
        )
        executive = (
            np.array([bool(EXEC_PATTERN.search(k)) for k in slug_of], dtype=bool)[raw_codes]
            if len(raw_codes)
            else np.zeros(0, bool)
        )
        for column in ("seniority", "contact_role"):
            if column in act.columns:
                codes, values = pd.factorize(act[column].astype(str))
                flags = np.array([bool(EXEC_PATTERN.search(v)) for v in values], dtype=bool)
                executive = executive | (flags[codes] if len(codes) else np.zeros(0, bool))
        contact = None
        if "contact_id" in act.columns:
            values = act["contact_id"].astype(str).to_numpy()
            contact = np.where(values == "", -1, pd.factorize(values)[0])
        return cls(
            len(account_index),
            code[keep].astype(np.int64),
            to_days(act["date"]),
            kind,
            tuple(kinds),
            executive,
            contact,
        )


def kind_counts(activities: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Events per kind slug before `as_of` (additive: partial counts of partitions sum to the whole)."""
    before = activities.loc[activities["date"] < as_of, "kind"].astype(str)
    raw = before.value_counts(sort=False)
    return raw.groupby([kind_slug(k) for k in raw.index]).sum() if len(raw) else raw.astype(np.int64)


def top_kinds(counts: pd.Series) -> tuple[str, ...]:
    """The MAX_KINDS most frequent kinds, ties broken by name (the same order whatever the partitioning)."""
    counts = counts.sort_index().sort_values(ascending=False, kind="mergesort")
    return tuple(str(k) for k in counts.index[:MAX_KINDS])


def engagement_features(arr: ActivityArrays, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    T = day_of(as_of)
    past = arr.t < T
    age = T - arr.t
    n = arr.n_accounts
    out: dict[str, np.ndarray] = {}

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(arr.code[mask], minlength=n).astype(float)

    for w in ACTIVITY_WINDOWS:
        out[f"activities_{w}d"] = count(past & (age <= w))
    out["activity_trend_90d"] = rel_change(out["activities_90d"], count(past & (age > 90) & (age <= 180)))
    for i, kind in enumerate(arr.kinds):
        for w in KIND_WINDOWS:
            out[f"{kind}_{w}d"] = count(past & (arr.kind == i) & (age <= w))
    for w in EXEC_WINDOWS:
        out[f"exec_contacts_{w}d"] = count(past & arr.executive & (age <= w))

    def recency(mask: np.ndarray) -> np.ndarray:
        last = np.full(n, np.nan)
        if mask.any():
            np.fmax.at(last, arr.code[mask], arr.t[mask])
        return T - last

    out["days_since_last_activity"] = recency(past)
    out["days_since_exec_contact"] = recency(past & arr.executive)
    if arr.contact is not None:
        mask = past & (age <= 365.25) & (arr.contact >= 0)
        out["distinct_contacts_365d"] = distinct_count(arr.code[mask], arr.contact[mask], n)
    return out
