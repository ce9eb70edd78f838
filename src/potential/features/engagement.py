"""Engagement features from activities (meetings, emails, tickets, executive contacts) before as_of."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.features.history import account_codes, distinct_count, factorize_text, first_rows, text_codes
from potential.features.timebase import day_of, rel_change, to_days

ACTIVITY_WINDOWS = (30, 90, 180, 365)
KIND_WINDOWS = (90, 365)
EXEC_WINDOWS = (60, 90, 180, 365)
MAX_KINDS = 8
EXEC_PATTERN = re.compile(r"exec|c-level|cxo|ceo|cfo|cio|cto|vp|director|board", re.IGNORECASE)
# roles that sign or shape a purchase: executives plus finance, procurement and budget owners
DECISION_PATTERN = re.compile(
    EXEC_PATTERN.pattern + r"|financ|procure|purchas|budget|owner|head|chief|partner", re.IGNORECASE
)
NEW_CONTACT_WINDOWS = (90, 180)


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
    # each (account, contact) pair's first activity: when it was, its account, and whether its role then
    # was a decision role (None without contacts); a pair first seen before a cutoff is known at it
    contact_first_t: np.ndarray | None = None
    contact_first_account: np.ndarray | None = None
    contact_first_decision: np.ndarray | None = None

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
        code = account_codes(activities["account_id"], account_index)
        keep = code >= 0
        act = activities
        if not keep.all():
            act, code = activities.loc[keep], code[keep]
        code = code.astype(np.int32)  # half the memory of 64-bit codes: a few million rows stay in memory
        # classify distinct values once, then broadcast by code (millions of rows, a handful of kinds)
        raw_codes, raw_kinds = factorize_text(act["kind"])
        slug_of = np.array([kind_slug(k) for k in raw_kinds], dtype=object)
        if kinds is None:
            kinds = top_kinds(kind_counts(act, as_of))
        lookup = {k: i for i, k in enumerate(kinds)}
        small = np.int8 if len(kinds) < 127 else np.int64  # a handful of kinds: one byte per row
        kind = (
            np.array([lookup.get(k, -1) for k in slug_of], dtype=small)[raw_codes]
            if len(raw_codes)
            else np.empty(0, small)
        )
        executive = (
            np.array([bool(EXEC_PATTERN.search(k)) for k in slug_of], dtype=bool)[raw_codes]
            if len(raw_codes)
            else np.zeros(0, bool)
        )
        # one pass per role column: executive roles, and decision roles (executives, finance, procurement)
        decision = executive.copy()
        for column in ("seniority", "contact_role"):
            if column in act.columns:
                codes, values = factorize_text(act[column])
                if not len(codes):
                    continue
                executive = executive | np.array([bool(EXEC_PATTERN.search(v)) for v in values])[codes]
                decision = decision | np.array([bool(DECISION_PATTERN.search(v)) for v in values])[codes]
        t = to_days(act["date"])
        contact = None
        firsts: tuple[np.ndarray | None, ...] = (None, None, None)
        if "contact_id" in act.columns:
            contact = text_codes(act["contact_id"])
            firsts = _first_contacts(code, contact, t, decision)
        return cls(
            len(account_index),
            code,
            t,
            kind,
            tuple(kinds),
            executive,
            contact,
            *firsts,
        )


def _first_contacts(
    code: np.ndarray, contact: np.ndarray, t: np.ndarray, decision: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (account, contact) pair: the time of its first activity, the account, and its role's decision flag
    at that first activity (a later promotion is not known before it happens)."""
    known = contact >= 0
    if not known.any():
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool)
    if not known.all():
        contact, code, t, decision = contact[known], code[known], t[known], decision[known]
    owner = np.full(int(contact.max()) + 1, -1, dtype=code.dtype)
    owner[contact] = code
    if (owner[contact] == code).all():  # each contact id belongs to one account: the contact is the pair
        first = first_rows(contact, t, numbered=True)
    else:
        first = first_rows(code.astype(np.int64) * (int(contact.max()) + 1) + contact, t)
    return t[first], code[first], decision[first]


def kind_counts(activities: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Events per kind slug before `as_of` (additive: partial counts of partitions sum to the whole)."""
    codes, kinds = factorize_text(activities["kind"])  # no copy of the rows before `as_of`
    before = (activities["date"] < as_of).to_numpy(dtype=bool) & (codes >= 0)
    counts = np.bincount(codes[before], minlength=len(kinds))
    raw = pd.Series(counts, index=pd.Index(kinds, name="kind"), name="count")[counts > 0]
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
    # the last 30 days against the account's own average 30 days over the 11 months before: a run-up of
    # meetings and calls shows here first, and a busy account is not mistaken for a rising one
    out["activity_trend_30d"] = rel_change(
        out["activities_30d"], count(past & (age > 30) & (age <= 365)) * 30.0 / 335.0
    )
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
    exec_before = count(past & arr.executive & (age > 90) & (age <= 180))
    out["exec_trend_90d"] = rel_change(out["exec_contacts_90d"], exec_before)
    if arr.contact is not None:
        mask = past & (age <= 365.25) & (arr.contact >= 0)
        out["distinct_contacts_365d"] = distinct_count(arr.code[mask], arr.contact[mask], n)
    if arr.contact_first_t is not None and arr.contact_first_account is not None:
        first_age = T - arr.contact_first_t
        decision = arr.contact_first_decision
        for w in NEW_CONTACT_WINDOWS:
            new = (first_age > 0) & (first_age <= w)
            out[f"new_contacts_{w}d"] = np.bincount(arr.contact_first_account[new], minlength=n).astype(float)
            if decision is not None:
                senior = new & decision
                out[f"new_decision_makers_{w}d"] = np.bincount(
                    arr.contact_first_account[senior], minlength=n
                ).astype(float)
    return out
