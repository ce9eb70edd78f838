"""Assemble the feature table: history + engagement + profile + peer headroom, one row per account."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.config import FeatureConfig
from potential.data.schema import Dataset
from potential.errors import InsufficientDataError
from potential.features.btyd import BGNBD
from potential.features.engagement import ActivityArrays, engagement_features, kind_counts, top_kinds
from potential.features.history import TransactionArrays, average_deal, deal_sums, history_features
from potential.features.peers import PEER_COLUMNS, peer_features, peer_groups
from potential.features.profile import category_levels, existing_accounts, profile_features
from potential.features.timebase import safe_ratio


@dataclass(frozen=True)
class FeaturePlan:
    """Portfolio-wide choices that shape the feature set, fixed before any account is featurised.

    The pandas engine derives them from the whole dataset; a partitioned engine computes them across
    every partition first, so each partition builds exactly the columns the whole would.
    """

    levels: dict[str, tuple[str, ...]]  # category levels of usable text profile columns
    kinds: tuple[str, ...] | None  # activity kinds with their own counts (None: no activities)


@dataclass(frozen=True)
class Prepared:
    """A dataset turned into arrays once, so features at many cutoffs cost one pass each."""

    accounts: pd.DataFrame
    index: pd.Index
    transactions: TransactionArrays | None
    activities: ActivityArrays | None
    windows: tuple[int, ...]
    as_of: pd.Timestamp
    plan: FeaturePlan


def make_plan(dataset: Dataset, as_of: pd.Timestamp) -> FeaturePlan:
    kinds = None
    if dataset.activities is not None and len(dataset.activities):
        kinds = top_kinds(kind_counts(dataset.activities, as_of))
    return FeaturePlan(category_levels(dataset.accounts), kinds)


def prepare(
    dataset: Dataset, as_of: pd.Timestamp, config: FeatureConfig, plan: FeaturePlan | None = None
) -> Prepared:
    """Arrays for every cutoff up to `as_of` (nothing at or after `as_of` shapes the feature set)."""
    plan = plan or make_plan(dataset, as_of)
    index = pd.Index(dataset.accounts["account_id"], name="account_id")
    tx = TransactionArrays.build(dataset.transactions, index) if dataset.has_history else None
    act = None
    if dataset.activities is not None and len(dataset.activities):
        act = ActivityArrays.build(dataset.activities, index, as_of, plan.kinds)
    return Prepared(dataset.accounts, index, tx, act, tuple(config.windows), pd.Timestamp(as_of), plan)


# columns that need the whole portfolio at a cutoff (peer norms, the average deal, the BG/NBD fit)
BTYD_COLUMNS = ("btyd_p_alive", "btyd_expected_purchases_90d", "btyd_p_no_purchase_90d")
BTYD_HORIZON_DAYS = 90
CROSS_ACCOUNT = (*PEER_COLUMNS, "potential_spend_365d", "potential_multiple", *BTYD_COLUMNS)


def local_features(prepared: Prepared, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Every feature an account's own rows decide, for the accounts that existed before `cutoff`."""
    cutoff = pd.Timestamp(cutoff)
    if cutoff > prepared.as_of:
        raise ValueError(f"cutoff {cutoff.date()} is after the prepared as-of {prepared.as_of.date()}")
    columns: dict[str, np.ndarray] = {}
    if prepared.transactions is not None:
        columns.update(history_features(prepared.transactions, cutoff, prepared.windows))
    if prepared.activities is not None:
        columns.update(engagement_features(prepared.activities, cutoff))
    frame = pd.DataFrame(columns, index=prepared.index)
    profile = profile_features(prepared.accounts, cutoff, prepared.plan.levels)
    profile.index = prepared.index
    computed = set(frame.columns) | {"is_prospect", "spend_365d", *CROSS_ACCOUNT}
    # computed features win over same-named profile columns
    profile = profile.drop(columns=[c for c in profile.columns if c in computed])
    frame = pd.concat([frame, profile], axis=1)
    exists = existing_accounts(prepared.accounts, cutoff)
    if prepared.transactions is not None:
        customer = frame["days_since_last_purchase"].notna()
        frame["is_prospect"] = (~customer).astype(float)
        if "spend_365d" not in frame.columns:
            frame["spend_365d"] = _spend_365(prepared, cutoff)
        exists = exists | customer.to_numpy()
    return frame.loc[exists]


def peer_inputs(local: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """What the peer statistics read of each account: spend (>= 0), peer group, customer or not."""
    return local["spend_365d"].clip(lower=0), peer_groups(local), local["is_prospect"] == 0


def with_peers(local: pd.DataFrame, peers: pd.DataFrame, avg_deal: float) -> pd.DataFrame:
    """Join the cross-account statistics: peer percentile and P75, headroom, potential vs average deal."""
    frame = pd.concat([local, peers.reindex(local.index)[list(PEER_COLUMNS)]], axis=1)
    frame["potential_spend_365d"] = np.fmax(
        frame["spend_365d"].clip(lower=0).to_numpy(), frame["peer_p75_spend_365d"].to_numpy()
    )
    frame["potential_multiple"] = safe_ratio(
        frame["potential_spend_365d"].to_numpy(), np.full(len(frame), avg_deal)
    )
    return frame


def btyd_inputs(local: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD's (frequency, recency, T) in days for each customer, from its own history features."""
    customer = local["purchase_days_lifetime"].to_numpy() > 0
    rows = local.loc[customer]
    return pd.DataFrame(
        {
            "frequency": rows["purchase_days_lifetime"].to_numpy() - 1.0,
            "recency": (rows["tenure_days"] - rows["days_since_last_purchase"]).to_numpy(),
            "T": rows["tenure_days"].to_numpy(),
        },
        index=rows.index,
    )


def fit_btyd(inputs: pd.DataFrame) -> BGNBD | None:
    """BG/NBD fitted on every customer's history before the cutoff; None when the history cannot fit it.

    Rows are put in account order first, so the fit is the same number however the rows were gathered.
    """
    inputs = inputs.sort_index(kind="mergesort")
    try:
        return BGNBD().fit(inputs["frequency"], inputs["recency"], inputs["T"])
    except (InsufficientDataError, ValueError, FloatingPointError):
        return None


def with_btyd(frame: pd.DataFrame, model: BGNBD | None) -> pd.DataFrame:
    """The classic buy-till-you-die view of each customer as features: alive, expected purchases, none."""
    inputs = btyd_inputs(frame)
    out = {c: np.full(len(frame), np.nan) for c in BTYD_COLUMNS}
    if model is not None and len(inputs):
        at = frame.index.get_indexer(inputs.index)
        x, t_x, age = (inputs[c].to_numpy() for c in ("frequency", "recency", "T"))
        with np.errstate(all="ignore"):  # extreme fits (tiny or odd histories) give inf/NaN: left missing
            out["btyd_p_alive"][at] = model.p_alive(x, t_x, age)
            out["btyd_expected_purchases_90d"][at] = model.expected_purchases(BTYD_HORIZON_DAYS, x, t_x, age)
            out["btyd_p_no_purchase_90d"][at] = model.p_no_purchase(BTYD_HORIZON_DAYS, x, t_x, age)
    for values in out.values():
        values[~np.isfinite(values)] = np.nan
    return frame.assign(**out)


def features_at(prepared: Prepared, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Feature table at `cutoff` for the accounts that existed before it (index account_id)."""
    frame = local_features(prepared, cutoff)
    if prepared.transactions is None:
        return frame
    peers = peer_features(*peer_inputs(frame))
    sums = deal_sums(prepared.transactions, cutoff)
    frame = with_peers(frame, peers, average_deal(sums))
    return with_btyd(frame, fit_btyd(btyd_inputs(frame)))


def _spend_365(prepared: Prepared, cutoff: pd.Timestamp) -> np.ndarray:
    return history_features(prepared.transactions, cutoff, (365,))["spend_365d"]


def build_features(dataset: Dataset, as_of: pd.Timestamp, config: FeatureConfig) -> pd.DataFrame:
    """The scoring feature table at `as_of`: one row per account that existed before it."""
    return features_at(prepare(dataset, as_of, config), as_of)
