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


def peer_features(spend_365d: pd.Series, groups: pd.Series, customer: pd.Series) -> pd.DataFrame:
    """Percentile of spend within the peer group and the money gap to the peer P75 (among customers).

    Groups with fewer than MIN_PEERS customers fall back to the whole portfolio.
    """
    frame = pd.DataFrame(
        {"spend": spend_365d.astype(float), "group": groups.astype(str), "customer": customer}
    )
    buyers = frame[frame["customer"]]
    size = buyers.groupby("group")["spend"].transform("size") if len(buyers) else pd.Series(dtype=float)
    group = frame["group"].copy()
    small = set(buyers.loc[size < MIN_PEERS, "group"]) | (set(frame["group"]) - set(buyers["group"]))
    group[group.isin(small)] = "__portfolio__"
    buyers = frame[frame["customer"]].assign(group=group[frame["customer"]])
    p75 = buyers.groupby("group")["spend"].quantile(0.75)
    portfolio_p75 = float(buyers["spend"].quantile(0.75)) if len(buyers) else np.nan
    p75["__portfolio__"] = portfolio_p75
    peer_p75 = group.map(p75).astype(float)
    # percentile: share of peer customers spending less (+ half the ties); positional, one pass per group
    pct = np.full(len(frame), np.nan)
    spend = frame["spend"].to_numpy()
    is_customer = frame["customer"].to_numpy(dtype=bool)
    codes, names = pd.factorize(group, sort=True)
    for k, name in enumerate(names):
        members = np.flatnonzero(codes == k)
        pool = np.flatnonzero(is_customer) if name == "__portfolio__" else members[is_customer[members]]
        peer_values = np.sort(spend[pool])
        if len(peer_values) == 0:
            continue
        mine = spend[members]
        lo = np.searchsorted(peer_values, mine, side="left")
        hi = np.searchsorted(peer_values, mine, side="right")
        pct[members] = (lo + hi) / 2 / len(peer_values)
    return pd.DataFrame(
        {
            "peer_spend_percentile": pct,
            "peer_p75_spend_365d": peer_p75.to_numpy(),
            "peer_gap_to_p75": np.maximum(peer_p75.to_numpy() - frame["spend"].to_numpy(), 0.0),
        },
        index=frame.index,
    )
