"""Assemble the feature table: history + engagement + profile + peer headroom, one row per account."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.config import FeatureConfig
from potential.features.engagement import ActivityArrays, engagement_features
from potential.features.history import TransactionArrays, history_features, portfolio_avg_deal
from potential.features.peers import peer_features, peer_groups
from potential.features.profile import existing_accounts, profile_features
from potential.features.timebase import safe_ratio
from potential.schema import Dataset


@dataclass(frozen=True)
class Prepared:
    """A dataset turned into arrays once, so features at many cutoffs cost one pass each."""

    accounts: pd.DataFrame
    index: pd.Index
    transactions: TransactionArrays | None
    activities: ActivityArrays | None
    windows: tuple[int, ...]
    as_of: pd.Timestamp


def prepare(dataset: Dataset, as_of: pd.Timestamp, config: FeatureConfig) -> Prepared:
    """Arrays for every cutoff up to `as_of` (nothing at or after `as_of` shapes the feature set)."""
    index = pd.Index(dataset.accounts["account_id"], name="account_id")
    tx = TransactionArrays.build(dataset.transactions, index) if dataset.has_history else None
    act = None
    if dataset.activities is not None and len(dataset.activities):
        act = ActivityArrays.build(dataset.activities, index, as_of)
    return Prepared(dataset.accounts, index, tx, act, tuple(config.windows), pd.Timestamp(as_of))


def features_at(prepared: Prepared, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Feature table at `cutoff` for the accounts that existed before it (index account_id)."""
    cutoff = pd.Timestamp(cutoff)
    if cutoff > prepared.as_of:
        raise ValueError(f"cutoff {cutoff.date()} is after the prepared as-of {prepared.as_of.date()}")
    columns: dict[str, np.ndarray] = {}
    if prepared.transactions is not None:
        columns.update(history_features(prepared.transactions, cutoff, prepared.windows))
    if prepared.activities is not None:
        columns.update(engagement_features(prepared.activities, cutoff))
    frame = pd.DataFrame(columns, index=prepared.index)
    profile = profile_features(prepared.accounts, cutoff)
    profile.index = prepared.index
    computed = set(frame.columns) | {
        "is_prospect",
        "spend_365d",
        "peer_spend_percentile",
        "peer_p75_spend_365d",
        "peer_gap_to_p75",
        "potential_spend_365d",
        "potential_multiple",
    }
    profile = profile.drop(
        columns=[c for c in profile.columns if c in computed]
    )  # computed features win over same-named columns
    frame = pd.concat([frame, profile], axis=1)

    if prepared.transactions is not None:
        customer = frame["days_since_last_purchase"].notna()
        frame["is_prospect"] = (~customer).astype(float)
        spend = frame["spend_365d"] if "spend_365d" in frame.columns else _spend_365(prepared, cutoff)
        frame["spend_365d"] = spend
        peers = peer_features(spend.clip(lower=0), peer_groups(frame), customer)
        frame = pd.concat([frame, peers], axis=1)
        frame["potential_spend_365d"] = np.fmax(
            spend.clip(lower=0).to_numpy(), peers["peer_p75_spend_365d"].to_numpy()
        )
        avg_deal = portfolio_avg_deal(prepared.transactions, cutoff)
        frame["potential_multiple"] = safe_ratio(
            frame["potential_spend_365d"].to_numpy(), np.full(len(frame), avg_deal)
        )
    exists = existing_accounts(prepared.accounts, cutoff)
    if prepared.transactions is not None:
        exists = exists | frame["days_since_last_purchase"].notna().to_numpy()
    return frame.loc[exists]


def _spend_365(prepared: Prepared, cutoff: pd.Timestamp) -> pd.Series:
    values = history_features(prepared.transactions, cutoff, (365,))["spend_365d"]
    return pd.Series(values, index=prepared.index)


def build_features(dataset: Dataset, as_of: pd.Timestamp, config: FeatureConfig) -> pd.DataFrame:
    """The scoring feature table at `as_of`: one row per account that existed before it."""
    return features_at(prepare(dataset, as_of, config), as_of)
