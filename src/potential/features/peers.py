"""Peer headroom: spend relative to look-alike accounts (same industry x size band) — the whitespace estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd

SIZE_BANDS = (0, 50, 250, 1_000, 5_000, np.inf)
SIZE_LABELS = ("1-49", "50-249", "250-999", "1000-4999", "5000+")
MIN_PEERS = 5


def peer_groups(profile: pd.DataFrame) -> pd.Series:
    """Peer group label per account: industry x employee band (as far as those columns exist)."""
    parts = []
    if "industry" in profile.columns:
        parts.append(
            profile["industry"].astype(object).where(profile["industry"].notna(), "unknown").astype(str)
        )
    if "employees" in profile.columns:
        band = pd.cut(profile["employees"], SIZE_BANDS, labels=SIZE_LABELS, right=False)
        parts.append(band.astype(object).where(band.notna(), "unknown").astype(str))
    if not parts:
        return pd.Series("all", index=profile.index)
    label = parts[0]
    for part in parts[1:]:
        label = label + " / " + part
    return label


PORTFOLIO = "__portfolio__"
PEER_COLUMNS = ("peer_spend_percentile", "peer_p75_spend_365d", "peer_gap_to_p75")


def peer_pools(customer_counts: pd.Series) -> set[str]:
    """The groups with enough customers (MIN_PEERS) to be their own peer pool."""
    return set(customer_counts.index[customer_counts.to_numpy() >= MIN_PEERS])


def effective_groups(groups: pd.Series, pools: set[str]) -> pd.Series:
    """Groups without a pool of their own fall back to the whole portfolio."""
    return groups.where(groups.isin(pools), PORTFOLIO)


def peer_rows(spend: pd.Series, egroup: pd.Series, customer: pd.Series) -> pd.DataFrame:
    """One 'member' row per account and one 'pool' row per customer in each pool it belongs to.

    A customer is in the pool of its own group and always in the portfolio pool, so each group's rows hold
    everything its peer statistics need: grouping by `egroup` is the only cross-account step.
    """
    members = pd.DataFrame(
        {"egroup": egroup.to_numpy(), "spend": spend.to_numpy(dtype=float), "member": True},
        index=spend.index,
    )
    is_customer = customer.to_numpy(dtype=bool)
    own = members[is_customer & (members["egroup"] != PORTFOLIO).to_numpy()].assign(member=False)
    portfolio = members[is_customer].assign(egroup=PORTFOLIO, member=False)
    return pd.concat([members, own, portfolio])


def group_peer_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Peer statistics of one group's members: percentile among the pool (+ half the ties), P75, gap."""
    pool = np.sort(rows.loc[~rows["member"].to_numpy(dtype=bool), "spend"].to_numpy(dtype=float))
    members = rows[rows["member"].to_numpy(dtype=bool)]
    mine = members["spend"].to_numpy(dtype=float)
    if len(pool):
        lo = np.searchsorted(pool, mine, side="left")
        hi = np.searchsorted(pool, mine, side="right")
        pct = (lo + hi) / 2 / len(pool)
        p75 = float(np.quantile(pool, 0.75))
    else:
        pct = np.full(len(members), np.nan)
        p75 = np.nan
    return pd.DataFrame(
        {
            "peer_spend_percentile": pct,
            "peer_p75_spend_365d": np.full(len(members), p75),
            "peer_gap_to_p75": np.maximum(p75 - mine, 0.0),
        },
        index=members.index,
    )


def peer_features(spend_365d: pd.Series, groups: pd.Series, customer: pd.Series) -> pd.DataFrame:
    """Percentile of spend within the peer group and the money gap to the peer P75 (among customers).

    Groups with fewer than MIN_PEERS customers fall back to the whole portfolio.
    """
    groups = groups.astype(str)
    egroup = effective_groups(groups, peer_pools(groups[customer.to_numpy(dtype=bool)].value_counts()))
    rows = peer_rows(spend_365d.astype(float), egroup, customer)
    parts = [group_peer_table(part) for _, part in rows.groupby("egroup", sort=True)]
    table = pd.concat(parts) if parts else pd.DataFrame(columns=list(PEER_COLUMNS), dtype=float)
    return table.reindex(spend_365d.index)
